// The bench's place on the test control plane: `testenv/cluster.ts up` (idempotent),
// a namespace of its own, and a kwok node of its own (tainted, labelled
// k8smgr.bench/node=true, room for 20,000 pods) so that thousands of bench pods
// neither fill the two test nodes (110 pods each) that other engineers' tests
// schedule on, nor get their pods scheduled among them.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { connect, kubeconfigPath, waitFor } from '../../test/helpers/cluster.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const BENCH_NODE_LABEL = 'k8smgr.bench/node';
export const BENCH_TAINT = 'k8smgr.bench/only';

export interface BenchCluster {
  kc: k8s.KubeConfig;
  kubeconfigPath: string;
  namespace: string;
  node: string;
  core: k8s.CoreV1Api;
  objects: k8s.KubernetesObjectApi;
  /** Deletes the namespace and the node (waits a bounded time for the namespace to go). */
  cleanup(): Promise<void>;
}

/** Runs `testenv/cluster.ts up` unless KUBECONFIG points elsewhere; quiet unless it fails. */
export function clusterUp(): void {
  if (process.env.KUBECONFIG) return;
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'testenv/cluster.ts'), 'up'], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 15 * 60_000,
  });
  if (r.status !== 0) throw new Error(`testenv/cluster.ts up failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
}

/** Stops the control plane of $K8SMGR_TESTENV_DIR (a bench's own); never the shared one. */
export function clusterDown(): void {
  if (!process.env.K8SMGR_TESTENV_DIR) return;
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'testenv/cluster.ts'), 'down'], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) console.error(`testenv/cluster.ts down failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
}

export async function benchCluster(label: string): Promise<BenchCluster> {
  const file = kubeconfigPath();
  const kc = await connect(file);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  const suffix = randomBytes(3).toString('hex');
  const namespace = `bench-${label}-${suffix}`.slice(0, 63);
  const node = `kwok-bench-${suffix}`;
  await core.createNamespace({ body: { metadata: { name: namespace, labels: { 'k8smgr.test/namespace': 'true', 'k8smgr.bench/run': suffix } } } });
  await core.createNode({
    body: {
      metadata: {
        name: node,
        annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
        labels: { type: 'kwok', [BENCH_NODE_LABEL]: 'true', 'kubernetes.io/hostname': node, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' },
      },
      spec: { taints: [{ key: BENCH_TAINT, value: 'true', effect: 'NoSchedule' }] },
      status: {
        allocatable: { cpu: '4000', memory: '16Ti', pods: '20000', 'ephemeral-storage': '100Ti' },
        capacity: { cpu: '4000', memory: '16Ti', pods: '20000', 'ephemeral-storage': '100Ti' },
      },
    },
  });
  await waitFor(
    async () => {
      try {
        await core.readNamespacedServiceAccount({ name: 'default', namespace });
        const n = await core.readNode({ name: node });
        return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
      } catch {
        return false;
      }
    },
    { what: `namespace ${namespace} and node ${node} ready`, timeoutMs: 60_000 },
  );
  let cleaned = false;
  return {
    kc,
    kubeconfigPath: file,
    namespace,
    node,
    core,
    objects,
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      if (process.env.K8SMGR_KEEP_NAMESPACES === '1') {
        console.log(`keeping namespace ${namespace} and node ${node} (K8SMGR_KEEP_NAMESPACES)`);
        return;
      }
      // Pods first, at once and without grace: thousands of graceful deletions would wait for
      // kwok one by one (and for the controller-manager's pod GC once the node is gone).
      await core.deleteCollectionNamespacedPod({ namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
      await core.deleteNamespace({ name: namespace, propagationPolicy: 'Background' }).catch(() => undefined);
      await core.deleteNode({ name: node }).catch(() => undefined);
    },
  };
}
