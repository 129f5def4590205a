// Helpers for tests that run against a real Kubernetes API server: by default the
// control plane of `npm run cluster -- up` (.testenv/kubeconfig), or any cluster that
// KUBECONFIG points at. These tests never skip: no cluster is an error that says how
// to start one.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after as nodeTestAfter } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The kubeconfig the tests use: $KUBECONFIG, else the test environment's (.testenv/kubeconfig). */
export function kubeconfigPath(): string {
  const fromEnv = process.env.KUBECONFIG?.split(path.delimiter).find((p) => p !== '');
  if (fromEnv !== undefined) return path.resolve(fromEnv);
  const stateDir = process.env.K8SMGR_TESTENV_DIR ?? path.join(repoRoot, '.testenv');
  return path.resolve(stateDir, 'kubeconfig');
}

const hint = 'run `npm run cluster -- up` (or point KUBECONFIG at a cluster)';

/** Loads the kubeconfig and checks that its API server answers; throws a clear Error if not. */
export async function connect(file = kubeconfigPath()): Promise<k8s.KubeConfig> {
  if (!fs.existsSync(file)) {
    throw new Error(`Kubernetes control plane not configured: no kubeconfig at ${file}: ${hint}`);
  }
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(file);
  const server = kc.getCurrentCluster()?.server ?? '(no current cluster)';
  try {
    await withTimeout(kc.makeApiClient(k8s.VersionApi).getCode(), 5000, 'no answer within 5 s');
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(`Kubernetes control plane not reachable at ${server} (kubeconfig ${file}): ${why}: ${hint}`, {
      cause: err,
    });
  }
  return kc;
}

export interface TestNamespace {
  kc: k8s.KubeConfig;
  namespace: string;
  kubeconfigPath: string;
}

export interface TestNamespaceOptions {
  /** Registers the clean-up; default: node:test's `after`, so call testNamespace at the top level of the test file (top-level await), not in a `before` hook (its `after` runs when the hook ends). Inside a test pass `t.after`. */
  after?: (fn: () => Promise<void>) => void;
  /** Goes into the namespace's name; default: the test file's name. */
  name?: string;
  /** Keep the namespace after the tests (for debugging); also with K8SMGR_KEEP_NAMESPACES=1. */
  keep?: boolean;
}

/**
 * Creates a namespace of its own for a test file (`t-<file>-<random>`), waits until pods can be
 * created in it (its default ServiceAccount exists) and deletes it after the tests.
 */
export async function testNamespace(opts: TestNamespaceOptions = {}): Promise<TestNamespace> {
  const file = kubeconfigPath();
  const kc = await connect(file);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const base = (opts.name ?? path.basename(process.argv[1] ?? 'test'))
    .replace(/\.(test|spec)\.[cm]?[jt]s$/, '')
    .replace(/\.[cm]?[jt]s$/, '')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  const namespace = `t-${base || 'test'}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({
    body: { metadata: { name: namespace, labels: { 'k8smgr.test/namespace': 'true' } } },
  });
  const keep = opts.keep === true || process.env.K8SMGR_KEEP_NAMESPACES === '1';
  (opts.after ?? nodeTestAfter)(async () => {
    if (keep) {
      console.log(`keeping namespace ${namespace} (K8SMGR_KEEP_NAMESPACES)`);
      return;
    }
    try {
      await core.deleteNamespace({ name: namespace, propagationPolicy: 'Background' });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  });
  await waitFor(
    async () => {
      try {
        await core.readNamespacedServiceAccount({ name: 'default', namespace });
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    },
    { what: `the default ServiceAccount in ${namespace}`, timeoutMs: 30_000 },
  );
  return { kc, namespace, kubeconfigPath: file };
}

/** Polls `check` until it returns a value other than false/undefined/null; returns that value. */
export async function waitFor<T>(
  check: () => Promise<T | false | undefined | null>,
  opts: { what: string; timeoutMs?: number; intervalMs?: number },
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== false && v !== undefined && v !== null) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      throw new Error(`timed out after ${opts.timeoutMs ?? 30_000} ms waiting for ${opts.what}${why}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
}

/** True for a 404 from @kubernetes/client-node (ApiException). */
export function isNotFound(err: unknown): boolean {
  return err instanceof k8s.ApiException && err.code === 404;
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
