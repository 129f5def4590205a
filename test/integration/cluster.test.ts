// The test control plane itself (testenv/cluster.ts): a real kube-apiserver with
// controllers, scheduler and kwok's simulated nodes. Run `npm run cluster -- up` first.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { isNotFound, testNamespace, waitFor, type TestNamespace } from '../helpers/cluster.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// At the top level: node:test's `after` (the namespace's clean-up) then runs after all tests of the file.
const env: TestNamespace = await testNamespace();
const core = env.kc.makeApiClient(k8s.CoreV1Api);
const apps = env.kc.makeApiClient(k8s.AppsV1Api);
const objects = k8s.KubernetesObjectApi.makeApiClient(env.kc);

function pod(name: string, extra: { annotations?: Record<string, string>; image?: string; restartPolicy?: string }): k8s.V1Pod {
  return {
    metadata: { name, annotations: extra.annotations ?? {} },
    spec: {
      restartPolicy: extra.restartPolicy ?? 'Never',
      containers: [{ name: 'main', image: extra.image ?? 'busybox:1.36', command: ['sleep', '3600'] }],
    },
  };
}

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
