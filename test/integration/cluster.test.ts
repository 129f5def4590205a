// The test control plane itself (testenv/cluster.ts): a real kube-apiserver with
// controllers, scheduler and kwok's simulated nodes. Run `npm run cluster -- up` first.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { isNotFound, testNamespace, waitFor, type TestNamespace } from '../helpers/cluster.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// At the top level: node:test's `after` (the namespace's clean-up) then runs after all tests of the file.
const env: TestNamespace = await testNamespace();
const core = env.kc.makeApiClient(k8s.CoreV1Api);
const apps = env.kc.makeApiClient(k8s.AppsV1Api);
const objects = k8s.KubernetesObjectApi.makeApiClient(env.kc);

function pod(
  name: string,
  extra: {
    annotations?: Record<string, string>;
    image?: string;
    restartPolicy?: string;
    containers?: { name: string; image: string }[];
    nodeSelector?: Record<string, string>;
  },
): k8s.V1Pod {
  const containers = extra.containers ?? [{ name: 'main', image: extra.image ?? 'busybox:1.36' }];
  return {
    metadata: { name, annotations: extra.annotations ?? {} },
    spec: {
      restartPolicy: extra.restartPolicy ?? 'Never',
      containers: containers.map((c) => ({ ...c, command: ['sleep', '3600'] })),
      ...(extra.nodeSelector ? { nodeSelector: extra.nodeSelector } : {}),
    },
  };
}

async function podEvents(podName: string): Promise<k8s.CoreV1Event[]> {
  const events = await core.listNamespacedEvent({
    namespace: env.namespace,
    fieldSelector: `involvedObject.kind=Pod,involvedObject.name=${podName}`,
  });
  return events.items;
}

/** Waits until the pod has events that match every one of `wanted` (type, reason, message). */
async function waitForEvents(
  podName: string,
  wanted: { type: string; reason: string; message: string | RegExp }[],
  timeoutMs = 30_000,
): Promise<k8s.CoreV1Event[]> {
  const matches = (e: k8s.CoreV1Event, w: (typeof wanted)[number]): boolean =>
    e.type === w.type &&
    e.reason === w.reason &&
    (typeof w.message === 'string' ? e.message === w.message : w.message.test(e.message ?? ''));
  let last: k8s.CoreV1Event[] = [];
  try {
    return await waitFor(
      async () => {
        last = await podEvents(podName);
        return wanted.every((w) => last.some((e) => matches(e, w))) ? last : undefined;
      },
      { what: `the events of pod ${podName}`, timeoutMs },
    );
  } catch (err) {
    const have = last.map((e) => `${e.type} ${e.reason}: ${e.message}`).join('\n  ');
    throw new Error(`${(err as Error).message}\nwanted ${JSON.stringify(wanted.map((w) => ({ ...w, message: String(w.message) })))}\nhave:\n  ${have}`, {
      cause: err,
    });
  }
}

/** Every version of one pod that a watch delivers, with the time it arrived. */
interface PodWatch {
  seen: { at: number; pod: k8s.V1Pod }[];
  /** The first version (from now on or already seen) for which `check` is true. */
  until(check: (p: k8s.V1Pod) => boolean, what: string, timeoutMs?: number): Promise<{ at: number; pod: k8s.V1Pod }>;
  stop(): void;
}

/** Starts watching the pod `name` (before it exists, so no version is missed). */
async function watchPod(name: string): Promise<PodWatch> {
  const seen: { at: number; pod: k8s.V1Pod }[] = [];
  let failure: unknown;
  const watch = new k8s.Watch(env.kc);
  const abort = await watch.watch(
    `/api/v1/namespaces/${env.namespace}/pods`,
    { fieldSelector: `metadata.name=${name}` },
    (type, obj: k8s.V1Pod) => {
      if (type === 'ADDED' || type === 'MODIFIED') seen.push({ at: Date.now(), pod: obj });
    },
    (err: unknown) => {
      if (err && (err as Error).name !== 'AbortError') failure = err;
    },
  );
  return {
    seen,
    async until(check, what, timeoutMs = 30_000) {
      return waitFor(
        async () => {
          if (failure) throw failure;
          return seen.find((s) => check(s.pod));
        },
        { what: `pod ${name}: ${what}`, timeoutMs, intervalMs: 50 },
      );
    },
    stop: () => abort.abort(),
  };
}

const isReady = (p: k8s.V1Pod): boolean => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
const containerStatus = (p: k8s.V1Pod, name = 'main'): k8s.V1ContainerStatus | undefined =>
  p.status?.containerStatuses?.find((c) => c.name === name);
/** A status time (a Date from the API client, a string from a watch) in ms. */
const timeOf = (t: Date | string | undefined): number => new Date(t ?? NaN).getTime();

async function warningEvents(podName: string): Promise<k8s.CoreV1Event[]> {
  const events = await core.listNamespacedEvent({
    namespace: env.namespace,
    fieldSelector: `involvedObject.kind=Pod,involvedObject.name=${podName}`,
  });
  return events.items.filter((e) => e.type === 'Warning');
}

void describe('test control plane', () => {
  void it('runs a Deployment: its pod becomes Running and Ready on a simulated node', async () => {
    await apps.createNamespacedDeployment({
      namespace: env.namespace,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'web', image: 'jupyterhub/singleuser:5', ports: [{ containerPort: 8888 }] }] },
          },
        },
      },
    });
    const running = await waitFor(
      async () => {
        const pods = await core.listNamespacedPod({ namespace: env.namespace, labelSelector: 'app=web' });
        return pods.items.find(
          (p) => p.status?.phase === 'Running' && p.status.containerStatuses?.every((c) => c.ready) === true,
        );
      },
      { what: 'a Running, Ready pod of Deployment web', timeoutMs: 60_000 },
    );
    assert.match(running.spec?.nodeName ?? '', /^kwok-node-/);
    const state = running.status?.containerStatuses?.[0]?.state;
    assert.ok(state?.running?.startedAt, 'container state is running');
    assert.ok(running.status?.podIP, 'pod has an IP');
    assert.ok(running.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    const deployment = await waitFor(
      async () => {
        const d = await apps.readNamespacedDeployment({ name: 'web', namespace: env.namespace });
        return d.status?.readyReplicas === 1 ? d : undefined;
      },
      { what: 'Deployment web to report 1 ready replica' },
    );
    assert.equal(deployment.status?.availableReplicas, 1);
  });

  void it('serves container logs through the API (the same simulated log for every container)', async () => {
    await core.createNamespacedPod({ namespace: env.namespace, body: pod('logs', {}) });
    await waitFor(
      async () => (await core.readNamespacedPod({ name: 'logs', namespace: env.namespace })).status?.phase === 'Running',
      { what: 'pod logs to run' },
    );
    const text = await core.readNamespacedPodLog({ name: 'logs', namespace: env.namespace, container: 'main' });
    assert.match(text, /simulated container started by kwok/);
  });

  void it('makes a pod fail on the annotation k8smgr.test/fail: terminated with exit code and a Warning event', async () => {
    await core.createNamespacedPod({
      namespace: env.namespace,
      body: pod('fails', { annotations: { 'k8smgr.test/fail': 'true' } }),
    });
    const failed = await waitFor(
      async () => {
        const p = await core.readNamespacedPod({ name: 'fails', namespace: env.namespace });
        return p.status?.phase === 'Failed' ? p : undefined;
      },
      { what: 'pod fails to fail' },
    );
    const status = failed.status?.containerStatuses?.[0];
    assert.equal(status?.name, 'main');
    assert.equal(status?.ready, false);
    assert.equal(status?.state?.terminated?.exitCode, 1);
    assert.equal(status?.state?.terminated?.reason, 'Error');
    assert.ok(failed.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'False'));
    const events = await waitFor(async () => {
      const w = await warningEvents('fails');
      return w.length > 0 ? w : undefined;
    }, { what: 'a Warning event on pod fails' });
    assert.equal(events[0]?.reason, 'BackOff');
  });

  void it('makes a pod fail on the image fail:latest, with the exit code of k8smgr.test/fail-exit-code', async () => {
    await core.createNamespacedPod({
      namespace: env.namespace,
      body: pod('fails-image', {
        image: 'fail:latest',
        restartPolicy: 'Always',
        annotations: { 'k8smgr.test/fail-exit-code': '3' },
      }),
    });
    const failed = await waitFor(
      async () => {
        const p = await core.readNamespacedPod({ name: 'fails-image', namespace: env.namespace });
        return p.status?.containerStatuses?.[0]?.state?.terminated ? p : undefined;
      },
      { what: 'the container of fails-image to terminate' },
    );
    // restartPolicy Always: a kubelet would restart it, so the pod stays Running but not Ready.
    assert.equal(failed.status?.phase, 'Running');
    assert.equal(failed.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 3);
    assert.ok(failed.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'False'));
    await waitFor(async () => (await warningEvents('fails-image')).length > 0, { what: 'a Warning event on fails-image' });
  });

  void it('garbage-collects the dependents of a deleted owner (ownerReferences)', async () => {
    const owner = await core.createNamespacedConfigMap({
      namespace: env.namespace,
      body: { metadata: { name: 'owner' }, data: { a: '1' } },
    });
    const ownerReferences: k8s.V1OwnerReference[] = [
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata?.uid ?? '', blockOwnerDeletion: true },
    ];
    await core.createNamespacedSecret({
      namespace: env.namespace,
      body: { metadata: { name: 'dependent-secret', ownerReferences }, stringData: { token: 'x' } },
    });
    await core.createNamespacedService({
      namespace: env.namespace,
      body: { metadata: { name: 'dependent-svc', ownerReferences }, spec: { ports: [{ port: 8888 }], selector: { app: 'x' } } },
    });
    await core.deleteNamespacedConfigMap({ name: 'owner', namespace: env.namespace, propagationPolicy: 'Background' });
    await waitFor(
      async () => {
        const gone = async (read: () => Promise<unknown>): Promise<boolean> =>
          read().then(
            () => false,
            (err: unknown) => {
              if (isNotFound(err)) return true;
              throw err;
            },
          );
        return (
          (await gone(() => core.readNamespacedSecret({ name: 'dependent-secret', namespace: env.namespace }))) &&
          (await gone(() => core.readNamespacedService({ name: 'dependent-svc', namespace: env.namespace })))
        );
      },
      { what: 'the garbage collector to delete the dependents', timeoutMs: 60_000 },
    );
  });

  void it('does server-side apply with a field manager, and dryRun=All changes nothing', async () => {
    const cm = (value: string): k8s.KubernetesObject & { data: Record<string, string> } => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'applied', namespace: env.namespace },
      data: { key: value },
    });
    const applied = await objects.patch(cm('one'), undefined, undefined, 'k8smgr-test', true, k8s.PatchStrategy.ServerSideApply);
    assert.equal((applied as { data?: Record<string, string> }).data?.key, 'one');
    assert.ok(applied.metadata?.managedFields?.some((f) => f.manager === 'k8smgr-test' && f.operation === 'Apply'));

    const dry = await objects.patch(cm('two'), undefined, 'All', 'k8smgr-test', true, k8s.PatchStrategy.ServerSideApply);
    assert.equal((dry as { data?: Record<string, string> }).data?.key, 'two', 'dry run returns the would-be object');
    const stored = await core.readNamespacedConfigMap({ name: 'applied', namespace: env.namespace });
    assert.equal(stored.data?.key, 'one', 'dry run stored nothing');

    // Another manager that does not force gets a conflict on the field it does not own.
    await assert.rejects(
      objects.patch(cm('three'), undefined, undefined, 'someone-else', false, k8s.PatchStrategy.ServerSideApply),
      (err: unknown) => err instanceof k8s.ApiException && err.code === 409,
    );
  });

  void it('lets the admin read the apiserver /metrics', async () => {
    const text = await getText(env.kc, '/metrics');
    assert.match(text, /^apiserver_request_total\{/m);
  });
});

// The simulated misbehaviour of kwok's stages (testenv/kwok-stages.yaml): what a kubelet
// reports when an image cannot be pulled, a container crashes later, a start is slow, and
// what the scheduler reports for a pod that fits no node.
void describe('simulated pod behaviours', () => {
  before(() => {
    // kwok reads the stages when it starts: a control plane started before a change of
    // testenv/kwok-stages.yaml plays the old ones (the file is next to the kubeconfig of `up`).
    const played = path.join(path.dirname(env.kubeconfigPath), 'kwok.yaml');
    if (!fs.existsSync(played)) return; // another cluster: nothing to compare
    const stages = fs.readFileSync(path.join(repoRoot, 'testenv', 'kwok-stages.yaml'), 'utf8');
    if (!fs.readFileSync(played, 'utf8').startsWith(stages)) {
      throw new Error(
        `kwok plays stages older than testenv/kwok-stages.yaml (${played}): restart the control plane (npm run cluster -- down && npm run cluster -- up)`,
      );
    }
  });

  void it('image pullfail:1: ErrImagePull, then ImagePullBackOff, never running; Failed and BackOff events', async () => {
    const w = await watchPod('pull');
    try {
      await core.createNamespacedPod({ namespace: env.namespace, body: pod('pull', { image: 'pullfail:1', restartPolicy: 'Always' }) });
      const err = await w.until((p) => containerStatus(p)?.state?.waiting?.reason === 'ErrImagePull', 'waiting ErrImagePull');
      const ref = 'docker.io/library/pullfail:1';
      const pullError = `rpc error: code = NotFound desc = failed to pull and unpack image "${ref}": failed to resolve reference "${ref}": ${ref}: not found`;
      assert.equal(containerStatus(err.pod)?.state?.waiting?.message, pullError);
      const backoff = await w.until((p) => containerStatus(p)?.state?.waiting?.reason === 'ImagePullBackOff', 'waiting ImagePullBackOff');
      assert.ok(backoff.at >= err.at, 'ImagePullBackOff after ErrImagePull');
      assert.ok(w.seen.indexOf(backoff) > w.seen.indexOf(err), 'ErrImagePull and ImagePullBackOff are two versions of the pod');
      assert.equal(containerStatus(backoff.pod)?.state?.waiting?.message, `Back-off pulling image "pullfail:1": ErrImagePull: ${pullError}`);
      await waitForEvents('pull', [
        { type: 'Normal', reason: 'Pulling', message: 'Pulling image "pullfail:1"' },
        { type: 'Warning', reason: 'Failed', message: `Failed to pull image "pullfail:1": ${pullError}` },
        { type: 'Warning', reason: 'Failed', message: 'Error: ErrImagePull' },
        { type: 'Warning', reason: 'BackOff', message: 'Back-off pulling image "pullfail:1"' },
        { type: 'Warning', reason: 'Failed', message: 'Error: ImagePullBackOff' },
      ]);
      const failed = (await podEvents('pull')).find((e) => e.reason === 'Failed');
      assert.equal(failed?.involvedObject.uid, backoff.pod.metadata?.uid);
      assert.equal(failed?.involvedObject.fieldPath, 'spec.containers{main}');
      assert.equal(failed?.source?.component, 'kubelet');
      assert.equal(failed?.source?.host, backoff.pod.spec?.nodeName);
      // It stays so: never running, never ready, always Pending.
      await new Promise((r) => setTimeout(r, 2500));
      const now = await core.readNamespacedPod({ name: 'pull', namespace: env.namespace });
      assert.equal(containerStatus(now)?.state?.waiting?.reason, 'ImagePullBackOff');
      for (const { pod: p } of [...w.seen, { pod: now }]) {
        assert.equal(p.status?.phase, 'Pending');
        assert.equal(isReady(p), false);
        assert.equal(containerStatus(p)?.state?.running, undefined);
        assert.equal(containerStatus(p)?.ready ?? false, false);
      }
      assert.ok(now.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'False' && c.reason === 'ContainersNotReady'));
    } finally {
      w.stop();
    }
  });

  void it('annotation k8smgr.test/image-pull-fail: every container fails to pull; a pullfail image in a registry fails alone', async () => {
    await core.createNamespacedPod({
      namespace: env.namespace,
      body: pod('pull-annotated', {
        annotations: { 'k8smgr.test/image-pull-fail': 'true' },
        containers: [
          { name: 'main', image: 'jupyter/base-notebook' },
          { name: 'side', image: 'registry.example:5000/team/helper@sha256:' + 'a'.repeat(64) },
        ],
      }),
    });
    await core.createNamespacedPod({
      namespace: env.namespace,
      body: pod('pull-one', {
        containers: [
          { name: 'main', image: 'registry.example/team/pullfail:2' },
          { name: 'side', image: 'busybox:1.36' },
        ],
      }),
    });
    const annotated = await waitFor(
      async () => {
        const p = await core.readNamespacedPod({ name: 'pull-annotated', namespace: env.namespace });
        return p.status?.containerStatuses?.every((c) => c.state?.waiting?.reason === 'ImagePullBackOff') ? p : undefined;
      },
      { what: 'both containers of pull-annotated in ImagePullBackOff' },
    );
    assert.match(containerStatus(annotated)?.state?.waiting?.message ?? '', /image "docker\.io\/jupyter\/base-notebook:latest": .*: not found$/);
    assert.match(
      containerStatus(annotated, 'side')?.state?.waiting?.message ?? '',
      /image "registry\.example:5000\/team\/helper@sha256:a{64}": .*: not found$/,
    );
    assert.equal(annotated.status?.phase, 'Pending');
    await waitForEvents('pull-annotated', [
      { type: 'Warning', reason: 'Failed', message: /^Failed to pull image "jupyter\/base-notebook": .*not found$/ },
      { type: 'Warning', reason: 'BackOff', message: 'Back-off pulling image "jupyter/base-notebook"' },
    ]);

    const one = await waitFor(
      async () => {
        const p = await core.readNamespacedPod({ name: 'pull-one', namespace: env.namespace });
        return containerStatus(p)?.state?.waiting?.reason === 'ImagePullBackOff' ? p : undefined;
      },
      { what: 'container main of pull-one in ImagePullBackOff' },
    );
    assert.match(containerStatus(one)?.state?.waiting?.message ?? '', /image "registry\.example\/team\/pullfail:2": .*: registry\.example\/team\/pullfail:2: not found$/);
    assert.ok(containerStatus(one, 'side')?.state?.running, 'the other container runs');
    assert.equal(containerStatus(one, 'side')?.ready, true);
    assert.equal(one.status?.phase, 'Pending', 'a container still waits for its image');
    assert.equal(isReady(one), false);
    assert.ok(one.status?.conditions?.some((c) => c.type === 'Ready' && c.message === 'containers with unready status: [main]'));
  });

  void it('annotation k8smgr.test/crash-after-seconds: Running and Ready, N s later Error exit 1, then CrashLoopBackOff and a BackOff event', async () => {
    const N = 3;
    const w = await watchPod('crash');
    try {
      await core.createNamespacedPod({
        namespace: env.namespace,
        body: pod('crash', { restartPolicy: 'Always', annotations: { 'k8smgr.test/crash-after-seconds': String(N) } }),
      });
      const ready = await w.until((p) => isReady(p) && containerStatus(p)?.state?.running !== undefined, 'Running and Ready');
      assert.equal(ready.pod.status?.phase, 'Running');
      const crashed = await w.until((p) => containerStatus(p)?.state?.terminated !== undefined, 'container terminated', (N + 10) * 1000);
      const term = containerStatus(crashed.pod);
      assert.equal(term?.state?.terminated?.exitCode, 1);
      assert.equal(term?.state?.terminated?.reason, 'Error');
      assert.equal(term?.ready, false);
      assert.equal(crashed.pod.status?.phase, 'Running');
      assert.equal(isReady(crashed.pod), false);
      // Not before N s: by the watch's clock (less a little for delivery jitter) and by the status times (whole seconds).
      const waited = crashed.at - ready.at;
      assert.ok(waited >= N * 1000 - 100, `crashed ${waited} ms after Ready`);
      assert.ok(waited <= (N + 1) * 1000 + 2000, `crashed ${waited} ms after Ready`);
      const ran = timeOf(term?.state?.terminated?.finishedAt) - timeOf(containerStatus(ready.pod)?.state?.running?.startedAt);
      assert.ok(ran >= N * 1000, `ran ${ran} ms by the status times`);
      assert.equal(timeOf(term?.state?.terminated?.startedAt), timeOf(containerStatus(ready.pod)?.state?.running?.startedAt));
      // Only Ready versions before the crash.
      assert.ok(w.seen.filter((s) => s.at < crashed.at && s !== crashed).every((s) => containerStatus(s.pod)?.state?.terminated === undefined));

      const loop = await w.until((p) => containerStatus(p)?.state?.waiting?.reason === 'CrashLoopBackOff', 'CrashLoopBackOff');
      assert.ok(w.seen.indexOf(loop) > w.seen.indexOf(crashed));
      const cs = containerStatus(loop.pod);
      const uid = loop.pod.metadata?.uid ?? '';
      assert.equal(cs?.state?.waiting?.message, `back-off 10s restarting failed container=main pod=crash_${env.namespace}(${uid})`);
      assert.equal(cs?.lastState?.terminated?.exitCode, 1);
      assert.equal(cs?.lastState?.terminated?.reason, 'Error');
      assert.equal(cs?.restartCount, (term?.restartCount ?? 0) + 1);
      assert.equal(cs?.ready, false);
      assert.equal(loop.pod.status?.phase, 'Running');
      const events = await waitForEvents('crash', [
        { type: 'Warning', reason: 'BackOff', message: `Back-off restarting failed container main in pod crash_${env.namespace}(${uid})` },
      ]);
      assert.equal(events.find((e) => e.reason === 'BackOff')?.involvedObject.fieldPath, 'spec.containers{main}');
      // And it stays in the back-off.
      await new Promise((r) => setTimeout(r, 2000));
      const later = await core.readNamespacedPod({ name: 'crash', namespace: env.namespace });
      assert.equal(containerStatus(later)?.state?.waiting?.reason, 'CrashLoopBackOff');
      assert.equal(later.status?.phase, 'Running');
    } finally {
      w.stop();
    }
  });

  void it('crash-after-seconds with k8smgr.test/fail-container crashes that container only; with restartPolicy Never the pod fails', async () => {
    await core.createNamespacedPod({
      namespace: env.namespace,
      body: pod('crash-side', {
        restartPolicy: 'Always',
        annotations: { 'k8smgr.test/crash-after-seconds': '1', 'k8smgr.test/fail-container': 'side' },
        containers: [
          { name: 'main', image: 'busybox:1.36' },
          { name: 'side', image: 'busybox:1.36' },
        ],
      }),
    });
    await core.createNamespacedPod({
      namespace: env.namespace,
      body: pod('crash-never', { restartPolicy: 'Never', annotations: { 'k8smgr.test/crash-after-seconds': '1' } }),
    });
    const side = await waitFor(
      async () => {
        const p = await core.readNamespacedPod({ name: 'crash-side', namespace: env.namespace });
        return containerStatus(p, 'side')?.state?.waiting?.reason === 'CrashLoopBackOff' ? p : undefined;
      },
      { what: 'container side of crash-side in CrashLoopBackOff' },
    );
    assert.ok(containerStatus(side, 'main')?.state?.running);
    assert.equal(containerStatus(side, 'main')?.ready, true);
    assert.equal(isReady(side), false);
    assert.ok(side.status?.conditions?.some((c) => c.type === 'Ready' && c.message === 'containers with unready status: [side]'));

    const never = await waitFor(
      async () => {
        const p = await core.readNamespacedPod({ name: 'crash-never', namespace: env.namespace });
        return p.status?.phase === 'Failed' ? p : undefined;
      },
      { what: 'pod crash-never to fail' },
    );
    assert.equal(containerStatus(never)?.state?.terminated?.exitCode, 1);
    await new Promise((r) => setTimeout(r, 1500));
    const stillNever = await core.readNamespacedPod({ name: 'crash-never', namespace: env.namespace });
    assert.ok(containerStatus(stillNever)?.state?.terminated, 'no restart with restartPolicy Never');
    assert.equal(containerStatus(stillNever)?.restartCount, 0);
  });

  void it('annotation k8smgr.test/ready-after-seconds: ContainerCreating for N s, then Running and Ready', async () => {
    const N = 3;
    const w = await watchPod('slow');
    try {
      await core.createNamespacedPod({
        namespace: env.namespace,
        body: pod('slow', { restartPolicy: 'Always', annotations: { 'k8smgr.test/ready-after-seconds': String(N) } }),
      });
      const creating = await w.until((p) => containerStatus(p)?.state?.waiting?.reason === 'ContainerCreating', 'ContainerCreating');
      assert.match(creating.pod.spec?.nodeName ?? '', /^kwok-node-/);
      assert.equal(creating.pod.status?.phase, 'Pending');
      assert.equal(isReady(creating.pod), false);
      assert.ok(creating.pod.status?.podIP, 'the sandbox has its IP');
      const ready = await w.until((p) => isReady(p), 'Ready', (N + 10) * 1000);
      const waited = ready.at - creating.at;
      assert.ok(waited >= N * 1000 - 100, `Ready ${waited} ms after ContainerCreating`);
      assert.ok(waited <= (N + 1) * 1000 + 2000, `Ready ${waited} ms after ContainerCreating`);
      const readyCondition = ready.pod.status?.conditions?.find((c) => c.type === 'Ready');
      assert.ok(timeOf(readyCondition?.lastTransitionTime) - timeOf(creating.pod.status?.startTime) >= N * 1000);
      assert.equal(readyCondition?.reason, undefined, 'no reason left from the not-ready condition');
      assert.equal(ready.pod.status?.phase, 'Running');
      assert.ok(containerStatus(ready.pod)?.state?.running);
      assert.equal(ready.pod.status?.podIP, creating.pod.status?.podIP, 'the IP stays');
      assert.equal(ready.pod.status?.podIPs?.length, 1);
      assert.equal(timeOf(ready.pod.status?.startTime), timeOf(creating.pod.status?.startTime), 'startTime stays');
      // In between it only waited.
      for (const s of w.seen.slice(w.seen.indexOf(creating), w.seen.indexOf(ready))) {
        assert.equal(containerStatus(s.pod)?.state?.waiting?.reason, 'ContainerCreating');
      }
    } finally {
      w.stop();
    }
  });

  void it('a pod that fits no node stays Pending: Unschedulable and a FailedScheduling event from the scheduler', async () => {
    await core.createNamespacedPod({
      namespace: env.namespace,
      body: pod('nowhere', { nodeSelector: { 'k8smgr.test/no-such-node': 'x' } }),
    });
    const events = await waitForEvents('nowhere', [
      {
        type: 'Warning',
        reason: 'FailedScheduling',
        // The two test nodes; a bench run beside this file (bench-smoke) adds a tainted node of its own.
        message: /^0\/[23] nodes are available: (1 node\(s\) had untolerated taint\(s\), )?2 node\(s\) didn't match Pod's node affinity\/selector\./,
      },
    ]);
    const e = events.find((x) => x.reason === 'FailedScheduling');
    assert.ok(e?.source?.component === 'default-scheduler' || e?.reportingComponent === 'default-scheduler', JSON.stringify(e));
    const p = await core.readNamespacedPod({ name: 'nowhere', namespace: env.namespace });
    assert.equal(p.status?.phase, 'Pending');
    assert.equal(p.spec?.nodeName, undefined);
    const scheduled = p.status?.conditions?.find((c) => c.type === 'PodScheduled');
    assert.equal(scheduled?.status, 'False');
    assert.equal(scheduled?.reason, 'Unschedulable');
  });

  void it('a plain pod still becomes Ready at once, without reason on its Ready condition', async () => {
    const w = await watchPod('plain');
    try {
      const t0 = Date.now();
      await core.createNamespacedPod({ namespace: env.namespace, body: pod('plain', { restartPolicy: 'Always' }) });
      const ready = await w.until((p) => isReady(p), 'Ready');
      assert.ok(ready.at - t0 < 3000, `Ready after ${ready.at - t0} ms`);
      assert.equal(ready.pod.status?.conditions?.find((c) => c.type === 'Ready')?.reason, undefined);
      assert.ok(w.seen.every((s) => containerStatus(s.pod)?.state?.waiting === undefined), 'no waiting state on the way');
    } finally {
      w.stop();
    }
  });
});

async function getText(kc: k8s.KubeConfig, urlPath: string): Promise<string> {
  const cluster = kc.getCurrentCluster();
  assert.ok(cluster);
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const url = new URL(urlPath, cluster.server);
  return new Promise((resolve, reject) => {
    https
      .get(url, opts, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET ${urlPath}: ${res.statusCode}`))));
      })
      .on('error', reject);
  });
}

function runCluster(dir: string, cmd: string): Promise<{ ms: number; output: string }> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'testenv', 'cluster.ts'), cmd],
      { cwd: repoRoot, env: { ...process.env, K8SMGR_TESTENV_DIR: dir }, timeout: 180_000 },
      (err, stdout, stderr) => {
        const output = stdout + stderr;
        if (err) reject(new Error(`cluster ${cmd} failed: ${err.message}\n${output}`));
        else resolve({ ms: Date.now() - start, output });
      },
    );
  });
}

void describe('cluster up (second instance)', () => {
  void it('reaches a ready apiserver and a Ready node in under 30 s with built binaries', { timeout: 240_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k8smgr-testenv-'));
    try {
      await runCluster(dir, 'down');
      const { output } = await runCluster(dir, 'up');
      // The time `up` reports from its own start (not tsx compiling the script under a loaded test run).
      const seconds = Number(/up in ([\d.]+) s/.exec(output)?.[1] ?? NaN);
      assert.ok(seconds < 30, `cluster up took ${seconds} s:\n${output}`);
      const again = await runCluster(dir, 'up');
      assert.match(again.output, /already up and healthy/);
      const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as { server: string };
      const main = new k8s.KubeConfig();
      main.loadFromFile(env.kubeconfigPath);
      assert.notEqual(state.server, main.getCurrentCluster()?.server, 'second instance has its own port');
    } finally {
      await runCluster(dir, 'down');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
