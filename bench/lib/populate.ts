// Live services made directly in the cluster, as the manager would have left
// them: per service an anchor ConfigMap (buildAnchor) and a Pod labelled with
// startLabels and owned by the anchor, bound to the bench's kwok node (kwok
// makes it Running). Thousands in tens of seconds instead of thousands of
// starts through the manager.
import * as k8s from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildAnchor, ownerRefTo, startLabels } from '../../src/services/anchor.js';
import type { KubeObject } from '../../src/kube/gateway.js';
import type { ServiceRecord } from '../../src/services/types.js';
import { BENCH_TAINT, type BenchCluster } from './cluster.js';

/** Every bench service is also an Outpost API start: the hub's server `bench` with this start_id. */
export const OUTPOST_NAME = 'bench';
const START_ID = 'b0000001';
/** The Outpost start_id of service i: the engine's servername (`bench-<8 hex>`) and start id come out of it (src/outpost/identity.ts). */
export const outpostStartId = (i: number): string => `${i.toString(16).padStart(8, '0')}${START_ID}${'0'.repeat(16)}`;
export const servername = (i: number): string => `${OUTPOST_NAME}-${i.toString(16).padStart(8, '0')}`;

export function benchRecord(credential: string, namespace: string, i: number): ServiceRecord {
  return {
    servername: servername(i),
    start_id: START_ID,
    user_options: { service: 'lab/ok' },
    jhub_user_id: 1000 + i,
    jhub_credential: credential,
    start_date: new Date().toISOString(),
    stop_pending: false,
    namespace,
    objects: [`v1|Pod/pod-${servername(i)}`],
    // Polled through both APIs: /api/services/<servername>/ and /outpost/services/bench/<start_id>.
    outpost: { name: OUTPOST_NAME, start_id: outpostStartId(i), user: `user${i}`, async: false, service: `svc-${servername(i)}:8888` },
  };
}

/** Runs `fn` over `items` with at most `limit` at once. */
export async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const code = err instanceof k8s.ApiException ? err.code : undefined;
      if (attempt >= 5 || (code !== undefined && code !== 429 && code < 500)) throw err;
      await sleep(200 * attempt);
    }
  }
}

/** Creates services [from, to) of `credential`; returns when all their pods run. */
export async function populate(bc: BenchCluster, opts: { instance: string; credential: string; from: number; to: number; concurrency?: number; timeoutMs?: number }): Promise<{ seconds: number }> {
  const started = Date.now();
  const indexes = Array.from({ length: opts.to - opts.from }, (_, k) => opts.from + k);
  await pool(indexes, opts.concurrency ?? 24, async (i) => {
    const record = benchRecord(opts.credential, bc.namespace, i);
    const anchor = (await retrying(() => bc.objects.create(buildAnchor(opts.instance, bc.namespace, record) as k8s.KubernetesObject))) as unknown as KubeObject;
    const pod: k8s.V1Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `pod-${record.servername}`, namespace: bc.namespace, labels: startLabels(opts.instance, record), ownerReferences: [ownerRefTo(anchor)] },
      spec: {
        nodeName: bc.node,
        tolerations: [{ key: BENCH_TAINT, operator: 'Exists', effect: 'NoSchedule' }],
        containers: [{ name: 'main', image: 'jupyter/base-notebook:latest' }],
      },
    };
    await retrying(() => bc.core.createNamespacedPod({ namespace: bc.namespace, body: pod }));
  });
  await waitRunning(bc, opts.to - opts.from + (opts.from > 0 ? opts.from : 0), opts.timeoutMs ?? 300_000);
  return { seconds: (Date.now() - started) / 1000 };
}

/** Waits until at least `count` pods of the namespace are Running. */
export async function waitRunning(bc: BenchCluster, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let running = 0;
  while (Date.now() < deadline) {
    const list = await bc.core.listNamespacedPod({ namespace: bc.namespace, limit: 20_000 });
    running = list.items.filter((p) => p.status?.phase === 'Running').length;
    if (running >= count) return;
    // A list of 20,000 pods is work for the apiserver too: less often the more there are.
    await sleep(Math.max(1000, count / 4));
  }
  throw new Error(`only ${running} of ${count} pods Running after ${timeoutMs} ms`);
}
