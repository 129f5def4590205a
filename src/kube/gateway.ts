// The one door to the Kubernetes API for writes and the rare reads that are not
// served from a watch cache: every call has a timeout and bounded retries, and
// 409 on create and 404 on delete count as success.
import * as k8s from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { isRetryable, KubeError, messageOf, statusOf } from './errors.js';
import { SharedDiscoveryObjectApi } from './object-api.js';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }>;
    resourceVersion?: string;
    deletionTimestamp?: string | Date;
    creationTimestamp?: string | Date;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface GatewayOptions {
  fieldManager: string;
  timeoutMs?: number;
  retries?: number;
  /** Called once per HTTP request sent (for metrics). */
  onCall?: (verb: string, kind: string, status: number | 'error') => void;
}

export class KubeGateway {
  readonly objects: k8s.KubernetesObjectApi;
  readonly core: k8s.CoreV1Api;
  readonly #opts: Required<Omit<GatewayOptions, 'onCall'>> & Pick<GatewayOptions, 'onCall'>;

  constructor(
    readonly kc: k8s.KubeConfig,
    opts: GatewayOptions,
  ) {
    this.objects = SharedDiscoveryObjectApi.forConfig(kc);
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.#opts = { timeoutMs: 15_000, retries: 3, ...opts };
  }

  get fieldManager(): string {
    return this.#opts.fieldManager;
  }

  /** Runs one API call with a timeout and retries on throttling and server errors. */
  async call<T>(verb: string, kind: string, fn: () => Promise<T>): Promise<T> {
    let attempt = 0;
    for (;;) {
      attempt++;
      try {
        const result = await withTimeout(fn(), this.#opts.timeoutMs, `${verb} ${kind}`);
        this.#opts.onCall?.(verb, kind, 200);
        return result;
      } catch (err) {
        this.#opts.onCall?.(verb, kind, statusOf(err) ?? 'error');
        if (attempt > this.#opts.retries || !isRetryable(err)) throw err;
        await sleep(Math.min(2000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2));
      }
    }
  }

  /** Server-side apply with the manager's field manager (force: the manager owns what it applies). */
  async apply<T extends KubeObject>(obj: T, opts: { dryRun?: boolean } = {}): Promise<T> {
    try {
      return (await this.call('apply', obj.kind, () =>
        this.objects.patch(obj as unknown as k8s.KubernetesObject, undefined, opts.dryRun ? 'All' : undefined, this.fieldManager, true, k8s.PatchStrategy.ServerSideApply),
      )) as T;
    } catch (err) {
      throw new KubeError('apply', statusOf(err), `${obj.kind} ${obj.metadata.name}: ${messageOf(err)}`);
    }
  }

  /** Create; an existing object of that name is returned as `conflict` (the caller decides). */
  async create<T extends KubeObject>(obj: T): Promise<{ created: true; object: T } | { created: false; conflict: true }> {
    try {
      const object = (await this.call('create', obj.kind, () => this.objects.create(obj as unknown as k8s.KubernetesObject, undefined, undefined, this.fieldManager))) as T;
      return { created: true, object };
    } catch (err) {
      if (statusOf(err) === 409) return { created: false, conflict: true };
      throw new KubeError('create', statusOf(err), `${obj.kind} ${obj.metadata.name}: ${messageOf(err)}`);
    }
  }

  async read<T extends KubeObject>(ref: Pick<KubeObject, 'apiVersion' | 'kind'> & { metadata: { name: string; namespace?: string } }): Promise<T | undefined> {
    try {
      return (await this.call('get', ref.kind, () => this.objects.read(ref as never))) as T;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw new KubeError('get', statusOf(err), `${ref.kind} ${ref.metadata.name}: ${messageOf(err)}`);
    }
  }

  /** Delete; already gone is fine. Background propagation lets the GC take the dependents. */
  async delete(ref: Pick<KubeObject, 'apiVersion' | 'kind'> & { metadata: { name: string; namespace?: string; uid?: string } }, opts: { propagation?: 'Background' | 'Foreground' } = {}): Promise<boolean> {
    try {
      const body: k8s.V1DeleteOptions = { propagationPolicy: opts.propagation ?? 'Background' };
      if (ref.metadata.uid) body.preconditions = { uid: ref.metadata.uid };
      await this.call('delete', ref.kind, () =>
        this.objects.delete(ref as k8s.KubernetesObject, undefined, undefined, undefined, undefined, body.propagationPolicy, body),
      );
      return true;
    } catch (err) {
      const status = statusOf(err);
      // 404: gone already; 409 with a uid precondition: it is another object now, not ours.
      if (status === 404 || (status === 409 && ref.metadata.uid)) return false;
      throw new KubeError('delete', status, `${ref.kind} ${ref.metadata.name}: ${messageOf(err)}`);
    }
  }

  async list<T extends KubeObject>(apiVersion: string, kind: string, namespace: string, labelSelector?: string): Promise<T[]> {
    const result = await this.call('list', kind, () =>
      this.objects.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, labelSelector),
    );
    return result.items as unknown as T[];
  }

  /** The last `lines` lines of a container's log ('' when there is none to read). */
  async podLogTail(namespace: string, pod: string, container: string, lines: number): Promise<string> {
    if (lines <= 0) return '';
    try {
      return await this.call('log', 'Pod', () =>
        this.core.readNamespacedPodLog({ name: pod, namespace, container, tailLines: lines, limitBytes: 64 * 1024 }),
      );
    } catch (err) {
      return `(log not available: ${messageOf(err)})`;
    }
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer from the Kubernetes API within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
