// The scenarios of issue #10. Each returns plain figures (see results.ts) and
// leaves nothing behind in the cluster (its session's namespace and node go).
import * as k8s from '@kubernetes/client-node';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeGateway } from '../../src/kube/gateway.js';
import { createCredentialStore } from '../../src/auth/store.js';
import { LABELS } from '../../src/services/anchor.js';
import { runLoad, type LoadResult } from './load.js';
import { percentile } from './load-worker.js';
import { OUTPOST_NAME, outpostStartId, pool, populate, servername } from './populate.js';
import { CREDENTIAL, INSTANCE, openSession, type Session } from './session.js';
import type { BenchManager } from './manager.js';

export interface BenchOptions {
  /** Service counts of the poll / memory / auth pass. */
  pollSizes: number[];
  memorySizes: number[];
  authSize: number;
  stormSizes: number[];
  durationSeconds: number;
  warmupSeconds: number;
  /** Connections of the saturating poll load. */
  connections: number;
  /** Polls/s of the paced load (latency at a steady, sub-saturation rate). */
  pacedRate: number;
  logDir: string;
  profileDir?: string;
  /** Storms with the manager talking straight to the apiserver (TLS, as in production) instead of through the counting proxy. */
  direct?: boolean;
  log: (line: string) => void;
}

export interface Ms { p50: number; p99: number; max: number }

export interface LoadFigures extends LoadResult {
  /** CPU time of the manager process per answered poll (independent of what else runs on the machine). */
  managerCpuUsPerPoll: number;
  /** Share of one core the manager used during the run. */
  managerCpuCores: number;
  /** 1-minute load average at the end of the run (other processes compete for the 2 cores). */
  loadAverage: number;
  apiRequests: number;
  apiRequestsPerPoll: number;
  apiRequestList: string[];
}

export interface PollFigures {
  services: number;
  populateSeconds: number;
  managerReadyMs: number;
  saturated: LoadFigures;
  paced: LoadFigures;
  /** The same services polled through the Outpost API (GET /outpost/services/<name>/<start_id>), saturating and paced. */
  outpostSaturated?: LoadFigures;
  outpostPaced?: LoadFigures;
  /** Control: the same paced load on /api/health/ (no auth, no lookup): what the machine and HTTP alone give. */
  pacedHealth: LoadFigures;
}

export interface MemoryFigures {
  services: number;
  rssMiB: number;
  peakRssMiB: number;
  heapUsedMiB: number | null;
  heapTotalMiB: number | null;
  externalMiB: number | null;
  /** After a full GC (forced by the probe): what the manager really keeps. */
  liveHeapMiB: number | null;
  rssAfterGcMiB: number | null;
  /** After a poll load over every service (buffers, JIT, caches grown). */
  rssAfterLoadMiB: number | null;
}

export interface AuthFigures {
  services: number;
  scheme: 'basic' | 'token';
  perSecond: number;
  latencyMs: LoadResult['latencyMs'];
  errors: number;
  non2xx: number;
}

export interface StormFigures {
  starts: number;
  start: {
    errors: number;
    errorSamples: string[];
    postMs: Ms;
    podRunningMs: Ms;
    managerRunningMs: Ms;
    /** All starts answered `running` (or the time ran out). */
    allRunningSeconds: number;
    /**
     * Where the time to a running pod went, from the cluster's own timestamps (1 s
     * resolution): Deployment created -> ReplicaSet created (controller-manager),
     * -> Pod created (controller-manager), -> PodScheduled (scheduler), -> Ready (kwok).
     */
    clusterStagesMs: Record<'deploymentToReplicaSet' | 'replicaSetToPod' | 'podToScheduled' | 'scheduledToReady', Ms>;
    /** The same API calls as a start (create ConfigMap, apply Secret, Deployment with 0 replicas, Service), made by a bare client, the same number at once: what the apiserver alone takes. */
    bareApiMs: Ms;
    apiRequests: number;
    apiRequestsPerStart: number;
    apiRequestsByVerb: Record<string, number>;
  };
  stop: {
    errors: number;
    deleteMs: Ms;
    /** From the first DELETE until no labelled object is left in the namespace. */
    goneSeconds: number;
    apiRequests: number;
    apiRequestsPerStop: number;
  };
}

const MiB = (kib: number) => Math.round((kib / 1024) * 10) / 10;
const mib = (bytes: number | undefined) => (bytes === undefined ? null : Math.round((bytes / 1048576) * 10) / 10);

export function ms(values: number[]): Ms {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: Math.round(percentile(sorted, 50)), p99: Math.round(percentile(sorted, 99)), max: Math.round(sorted[sorted.length - 1] ?? NaN) };
}

function byVerb(requests: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of requests) {
    // "GET /api/v1/namespaces/ns/configmaps/name" -> "GET configmaps"
    const [verb, p = ''] = r.split(' ');
    const parts = p.split('/').filter(Boolean);
    const nsAt = parts.indexOf('namespaces');
    const kind = nsAt >= 0 ? (parts[nsAt + 2] ?? 'namespaces') : (parts[parts.length - 1] ?? p);
    const key = `${verb} ${kind}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

async function loadWithCount(s: Session, m: BenchManager, spec: { paths: string[]; connections: number; durationSeconds: number; rate?: number; auth?: string }): Promise<LoadFigures> {
  const before = s.proxy.requests.length;
  const cpuBefore = m.cpuSeconds();
  const result = await runLoad({ url: m.url, paths: spec.paths, headers: { authorization: spec.auth ?? s.auth }, connections: spec.connections, durationSeconds: spec.durationSeconds, ...(spec.rate ? { rate: spec.rate } : {}) });
  const cpu = m.cpuSeconds() - cpuBefore;
  // Not caused by polls: the leader Lease's renewals (every few seconds, poll or not)
  // and the resumes of watches that ended on their timeout.
  const during = s.proxy.requests.slice(before).filter((r) => !r.includes('/apis/coordination.k8s.io/') && !r.endsWith(' (watch)'));
  return {
    ...result,
    managerCpuUsPerPoll: result.requests ? Math.round((cpu / result.requests) * 1e6) : NaN,
    managerCpuCores: Math.round((cpu / result.durationSeconds) * 100) / 100,
    loadAverage: Math.round(loadavg()[0]! * 10) / 10,
    apiRequests: during.length, apiRequestsPerPoll: result.requests ? during.length / result.requests : NaN, apiRequestList: [...new Set(during)].slice(0, 20) };
}

/**
 * Poll, memory and auth share one pass: the namespace grows through the sizes
 * asked for; at each, a fresh manager lists it all (ready time), its memory is
 * read, and the poll and auth loads run against it.
 */
export async function populationPass(opts: BenchOptions, want: { poll: boolean; memory: boolean; auth: boolean }): Promise<{ poll: PollFigures[]; memory: MemoryFigures[]; auth: AuthFigures[] }> {
  const sizes = [...new Set([...(want.poll ? opts.pollSizes : []), ...(want.memory ? opts.memorySizes : []), ...(want.auth ? [opts.authSize] : [])])].sort((a, b) => a - b);
  const out = { poll: [] as PollFigures[], memory: [] as MemoryFigures[], auth: [] as AuthFigures[] };
  const s = await openSession('poll', { logDir: opts.logDir });
  try {
    let have = 0;
    for (const n of sizes) {
      let populateSeconds = 0;
      if (n > have) {
        opts.log(`populating ${have} -> ${n} services`);
        populateSeconds = (await populate(s.bc, { instance: INSTANCE, credential: CREDENTIAL, from: have, to: n })).seconds;
        have = n;
      }
      opts.log(`manager with ${n} services`);
      const m = await s.startManager(`n${n}`, opts.profileDir ? { profileDir: opts.profileDir } : {});
      try {
        const paths = Array.from({ length: Math.max(n, 1) }, (_, i) => `/api/services/${servername(i)}/`);
        // Let the start-up garbage settle before reading memory.
        await sleep(opts.warmupSeconds * 1000);
        const memory = await m.memoryUsage();
        const rss = m.rss();
        const mem: MemoryFigures = {
          services: n, rssMiB: MiB(rss.rssKiB), peakRssMiB: MiB(rss.hwmKiB),
          heapUsedMiB: mib(memory?.before.heapUsed), heapTotalMiB: mib(memory?.before.heapTotal), externalMiB: mib(memory?.before.external),
          liveHeapMiB: mib(memory?.after.heapUsed), rssAfterGcMiB: mib(memory?.after.rss), rssAfterLoadMiB: null,
        };
        if (n > 0 && (want.poll && opts.pollSizes.includes(n))) {
          opts.log(`  warm-up ${opts.warmupSeconds} s`);
          await runLoad({ url: m.url, paths, headers: { authorization: s.auth }, connections: opts.connections, durationSeconds: opts.warmupSeconds });
          opts.log(`  saturating load: ${opts.connections} connections, ${opts.durationSeconds} s`);
          const saturated = await loadWithCount(s, m, { paths, connections: opts.connections, durationSeconds: opts.durationSeconds });
          opts.log(`  paced load: ${opts.pacedRate}/s, ${opts.durationSeconds} s`);
          const paced = await loadWithCount(s, m, { paths, connections: Math.min(8, opts.connections), durationSeconds: opts.durationSeconds, rate: opts.pacedRate });
          const outpostPaths = Array.from({ length: Math.max(n, 1) }, (_, i) => `/outpost/services/${OUTPOST_NAME}/${outpostStartId(i)}`);
          opts.log(`  Outpost API: saturating load, then paced`);
          await runLoad({ url: m.url, paths: outpostPaths, headers: { authorization: s.auth }, connections: opts.connections, durationSeconds: Math.min(2, opts.warmupSeconds) });
          const outpostSaturated = await loadWithCount(s, m, { paths: outpostPaths, connections: opts.connections, durationSeconds: opts.durationSeconds });
          const outpostPaced = await loadWithCount(s, m, { paths: outpostPaths, connections: Math.min(8, opts.connections), durationSeconds: opts.durationSeconds, rate: opts.pacedRate });
          opts.log(`  control: paced load on /api/health/`);
          const pacedHealth = await loadWithCount(s, m, { paths: ['/api/health/'], connections: Math.min(8, opts.connections), durationSeconds: opts.durationSeconds, rate: opts.pacedRate });
          out.poll.push({ services: n, populateSeconds, managerReadyMs: m.readyMs, saturated, paced, outpostSaturated, outpostPaced, pacedHealth });
        }
        if (n > 0 && want.auth && n === opts.authSize) {
          const token = await createToken(s);
          for (const [scheme, header] of [['basic', s.auth], ['token', `token ${token}`]] as const) {
            opts.log(`  auth ${scheme}: ${opts.connections} connections, ${opts.durationSeconds} s`);
            await runLoad({ url: m.url, paths, headers: { authorization: header }, connections: opts.connections, durationSeconds: Math.min(2, opts.warmupSeconds) });
            const r = await runLoad({ url: m.url, paths, headers: { authorization: header }, connections: opts.connections, durationSeconds: opts.durationSeconds });
            out.auth.push({ services: n, scheme, perSecond: r.perSecond, latencyMs: r.latencyMs, errors: r.errors + r.timeouts, non2xx: r.non2xx });
          }
        }
        if (want.memory && opts.memorySizes.includes(n)) {
          if (n > 0 && !(want.poll && opts.pollSizes.includes(n))) {
            await runLoad({ url: m.url, paths, headers: { authorization: s.auth }, connections: opts.connections, durationSeconds: opts.warmupSeconds });
          }
          mem.rssAfterLoadMiB = MiB(m.rss().rssKiB);
          out.memory.push(mem);
        }
      } finally {
        await m.stop();
      }
    }
  } finally {
    await s.close();
  }
  return out;
}

async function createToken(s: Session): Promise<string> {
  const gateway = new KubeGateway(s.bc.kc, { fieldManager: 'k8smgr-bench' });
  const store = createCredentialStore({ gateway, namespace: s.bc.namespace, deploymentName: INSTANCE });
  store.start();
  await store.waitForSync();
  try {
    return await store.createToken(CREDENTIAL);
  } finally {
    store.stop();
  }
}

const MANAGED_KINDS: Array<[string, string]> = [
  ['v1', 'ConfigMap'], ['v1', 'Secret'], ['v1', 'Service'], ['v1', 'Pod'], ['apps/v1', 'Deployment'], ['apps/v1', 'ReplicaSet'],
];

async function labelledLeft(s: Session): Promise<number> {
  let left = 0;
  for (const [apiVersion, kind] of MANAGED_KINDS) {
    // Every object of a service has the servername label (the credentials Secret has not).
    const list = await s.bc.objects.list(apiVersion, kind, s.bc.namespace, undefined, undefined, undefined, undefined, `${LABELS.managedBy}=k8smgr,${LABELS.servername}`);
    left += list.items.length;
  }
  return left;
}

const stamp = (t: unknown): number => (t instanceof Date ? t.getTime() : typeof t === 'string' ? Date.parse(t) : NaN);

async function clusterStages(s: Session): Promise<StormFigures['start']['clusterStagesMs']> {
  const apps = s.bc.kc.makeApiClient(k8s.AppsV1Api);
  const ns = s.bc.namespace;
  const [deps, rss, pods] = await Promise.all([
    apps.listNamespacedDeployment({ namespace: ns }),
    apps.listNamespacedReplicaSet({ namespace: ns }),
    s.bc.core.listNamespacedPod({ namespace: ns }),
  ]);
  const stages = { deploymentToReplicaSet: [] as number[], replicaSetToPod: [] as number[], podToScheduled: [] as number[], scheduledToReady: [] as number[] };
  for (const d of deps.items) {
    const rs = rss.items.find((r) => r.metadata?.ownerReferences?.some((o) => o.uid === d.metadata?.uid));
    const pod = rs && pods.items.find((p) => p.metadata?.ownerReferences?.some((o) => o.uid === rs.metadata?.uid));
    if (!rs || !pod) continue;
    const cond = (type: string) => stamp(pod.status?.conditions?.find((c) => c.type === type)?.lastTransitionTime);
    stages.deploymentToReplicaSet.push(stamp(rs.metadata?.creationTimestamp) - stamp(d.metadata?.creationTimestamp));
    stages.replicaSetToPod.push(stamp(pod.metadata?.creationTimestamp) - stamp(rs.metadata?.creationTimestamp));
    stages.podToScheduled.push(cond('PodScheduled') - stamp(pod.metadata?.creationTimestamp));
    stages.scheduledToReady.push(cond('Ready') - cond('PodScheduled'));
  }
  return {
    deploymentToReplicaSet: ms(stages.deploymentToReplicaSet),
    replicaSetToPod: ms(stages.replicaSetToPod),
    podToScheduled: ms(stages.podToScheduled),
    scheduledToReady: ms(stages.scheduledToReady),
  };
}

/** A start's API calls without the manager: `count` clients at once, each create + 3 server-side applies. */
async function bareApi(s: Session, count: number): Promise<Ms> {
  const ns = s.bc.namespace;
  const objects = s.bc.objects;
  const labels = { 'k8smgr.bench/bare': 'true' };
  const times: number[] = [];
  const t0 = Date.now();
  await Promise.all(Array.from({ length: count }, async (_, i) => {
    const name = `bare-${i}`;
    try {
      await objects.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, labels }, data: { record: '{}' } } as k8s.KubernetesObject);
      const apply = (o: k8s.KubernetesObject) => objects.patch(o, undefined, undefined, 'k8smgr-bench', true, k8s.PatchStrategy.ServerSideApply);
      await apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns, labels }, stringData: { A: 'b' } } as k8s.KubernetesObject);
      await apply({
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns, labels },
        spec: { replicas: 0, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image: 'x' }] } } },
      } as k8s.KubernetesObject);
      await apply({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns, labels }, spec: { selector: { app: name }, ports: [{ port: 8888 }] } } as k8s.KubernetesObject);
      times.push(Date.now() - t0);
    } catch {
      // counted by its absence
    }
  }));
  return ms(times);
}

function startBody(i: number) {
  return {
    start_id: 's0000001',
    user_options: { service: 'lab/ok' },
    env: { JUPYTERHUB_STATUS_URL: 'http://127.0.0.1:9/progress', JUPYTERHUB_API_TOKEN: `bench-token-${i}`, JUPYTERHUB_USER_ID: 5000 + i },
  };
}

/** Start storm then stop storm, for each size, each on a fresh manager in an empty namespace. */
export async function storms(opts: BenchOptions): Promise<StormFigures[]> {
  const out: StormFigures[] = [];
  for (const count of opts.stormSizes) {
    const s = await openSession(`storm${count}`, { logDir: opts.logDir });
    try {
      const m = await s.startManager(`storm${count}`, { ...(opts.profileDir ? { profileDir: opts.profileDir } : {}), direct: opts.direct === true });
      try {
        out.push(await storm(s, m, count, opts));
      } finally {
        await m.stop();
      }
    } finally {
      await s.close();
    }
  }
  return out;
}

async function storm(s: Session, m: BenchManager, count: number, opts: BenchOptions): Promise<StormFigures> {
  const names = Array.from({ length: count }, (_, i) => `storm-${String(i).padStart(4, '0')}`);
  // Pod Running as the cluster sees it: a watch of our own, straight to the apiserver.
  const podRunningAt = new Map<string, number>();
  const watch = new k8s.Watch(s.bc.kc);
  const watching = await watch.watch(`/api/v1/namespaces/${s.bc.namespace}/pods`, { labelSelector: `${LABELS.managedBy}=k8smgr` }, (_phase: string, pod: k8s.V1Pod) => {
    const name = pod.metadata?.labels?.[LABELS.servername];
    if (name && pod.status?.phase === 'Running' && !podRunningAt.has(name)) podRunningAt.set(name, Date.now());
  }, () => undefined);
  const errors: string[] = [];
  const postAt = new Map<string, number>();
  const answeredRunningAt = new Map<string, number>();
  const before = s.proxy.requests.length;
  opts.log(`  start storm: ${count} POSTs at once`);
  const t0 = Date.now();
  await Promise.all(names.map(async (name, i) => {
    try {
      const r = await fetch(`${m.url}/api/services/`, {
        method: 'POST',
        headers: { authorization: s.auth, 'content-type': 'application/json', uuidcode: name },
        body: JSON.stringify(startBody(i)),
        signal: AbortSignal.timeout(120_000),
      });
      const text = await r.text();
      if (r.status >= 200 && r.status < 300) postAt.set(name, Date.now());
      else errors.push(`${name}: ${r.status} ${text.slice(0, 200)}`);
    } catch (err) {
      errors.push(`${name}: ${(err as Error).message}`);
    }
  }));
  // Poll like a hub would (a bit faster, for resolution): every 250 ms per service until `running`.
  const deadline = Date.now() + Math.max(120_000, count * 1000);
  const pending = new Set(postAt.keys());
  while (pending.size > 0 && Date.now() < deadline) {
    await pool([...pending], 16, async (name) => {
      const r = await fetch(`${m.url}/api/services/${name}/`, { headers: { authorization: s.auth } }).catch(() => undefined);
      const body = r && r.status === 200 ? ((await r.json()) as { state?: string }) : undefined;
      if (body?.state === 'running') {
        answeredRunningAt.set(name, Date.now());
        pending.delete(name);
      }
    });
    await sleep(250);
  }
  const allRunningSeconds = (Date.now() - t0) / 1000;
  const startRequests = s.proxy.requests.slice(before);
  const clusterStagesMs = await clusterStages(s);
  opts.log(`  bare API baseline: ${count} clients at once`);
  const bareApiMs = await bareApi(s, count);
  for (const name of pending) errors.push(`${name}: not running after ${Math.round((Date.now() - t0) / 1000)} s`);
  const since = (at: Map<string, number>) => [...at.values()].map((t) => t - t0);

  // Stop storm.
  await sleep(1000);
  const beforeStop = s.proxy.requests.length;
  const stopErrors: string[] = [];
  const deleteMs: number[] = [];
  opts.log(`  stop storm: ${count} DELETEs at once`);
  const t1 = Date.now();
  await Promise.all(names.map(async (name) => {
    try {
      const r = await fetch(`${m.url}/api/services/${name}/`, { method: 'DELETE', headers: { authorization: s.auth }, signal: AbortSignal.timeout(120_000) });
      await r.text();
      if (r.status === 204) deleteMs.push(Date.now() - t1);
      else stopErrors.push(`${name}: ${r.status}`);
    } catch (err) {
      stopErrors.push(`${name}: ${(err as Error).message}`);
    }
  }));
  let goneSeconds = NaN;
  const goneDeadline = Date.now() + Math.max(120_000, count * 600);
  while (Date.now() < goneDeadline) {
    if ((await labelledLeft(s)) === 0) {
      goneSeconds = (Date.now() - t1) / 1000;
      break;
    }
    await sleep(250);
  }
  const stopRequests = s.proxy.requests.slice(beforeStop);
  watching.abort();
  return {
    starts: count,
    start: {
      errors: errors.length,
      errorSamples: errors.slice(0, 5),
      postMs: ms(since(postAt)),
      podRunningMs: ms(since(podRunningAt)),
      managerRunningMs: ms(since(answeredRunningAt)),
      allRunningSeconds,
      clusterStagesMs,
      bareApiMs,
      apiRequests: startRequests.length,
      apiRequestsPerStart: Math.round((startRequests.length / count) * 100) / 100,
      apiRequestsByVerb: byVerb(startRequests),
    },
    stop: {
      errors: stopErrors.length,
      deleteMs: ms(deleteMs),
      goneSeconds,
      apiRequests: stopRequests.length,
      apiRequestsPerStop: Math.round((stopRequests.length / count) * 100) / 100,
    },
  };
}

export { servername };
