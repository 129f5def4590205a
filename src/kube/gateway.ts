// The one door to the Kubernetes API. Writes (create, server-side apply,
// replace, read-modify-write, delete), the rare reads that are not served from
// a watch cache, and the lists and watches the reflectors are made of. Every
// call has a timeout and bounded retries on throttling and server errors; 409
// on create and 404 on delete are outcomes, not failures. The HTTP client and
// the KubeConfig stay private to src/kube.
import type { KubeConfig } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { CacheRegistry } from './registry.js';
import { Discovery, groupVersionPath } from './discovery.js';
import { isRetryable, KubeError, messageOf, statusOf } from './errors.js';
import { KubeRest, type Query, type WatchEvent } from './rest.js';
import type { KubeObject } from './objects.js';

// The object types are kube/objects.ts's (one vocabulary for every room).
export type { KubeObject } from './objects.js';

/** One object: its kind and name (and namespace, uid when known). */
export type ObjectRef = Pick<KubeObject, 'apiVersion' | 'kind'> & { metadata: { name: string; namespace?: string; uid?: string } };

/** The objects of one kind in one namespace. `plural` spares the discovery request. */
export interface CollectionRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  plural?: string;
}

export interface Selectors {
  labelSelector?: string;
  fieldSelector?: string;
}

export interface ListOptions extends Selectors {
  /** Objects per request (`limit`), default 500. */
  pageSize?: number;
  onPage: (items: KubeObject[]) => void;
  signal?: AbortSignal;
}

export interface WatchOptions extends Selectors {
  resourceVersion: string;
  timeoutSeconds: number;
  signal: AbortSignal;
  onOpen?: () => void;
  onEvent: (event: WatchEvent) => void;
}

export interface GatewayOptions {
  fieldManager: string;
  timeoutMs?: number;
  retries?: number;
  /** Called once per HTTP request sent (for metrics). */
  onCall?: (verb: string, kind: string, status: number | 'error') => void;
}

export class KubeGateway {
  /** Every watch cache made on this gateway registers here (readiness walks it). */
  readonly caches = new CacheRegistry();
  readonly #rest: KubeRest;
  readonly #discovery: Discovery;
  readonly #defaultNamespace: string;
  readonly #opts: Required<Omit<GatewayOptions, 'onCall'>> & Pick<GatewayOptions, 'onCall'>;

  constructor(kc: KubeConfig, opts: GatewayOptions) {
    this.#rest = new KubeRest(kc);
    this.#opts = { timeoutMs: 15_000, retries: 3, ...opts };
    this.#discovery = Discovery.over(this.#rest, (fn) => this.#call('discovery', 'APIResourceList', fn));
    this.#defaultNamespace = kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  }

  get fieldManager(): string {
    return this.#opts.fieldManager;
  }

  /** Server-side apply with the manager's field manager (force: the manager owns what it applies). */
  async apply<T extends KubeObject>(obj: T, opts: { dryRun?: boolean } = {}): Promise<T> {
    try {
      const path = await this.#objectPath(obj);
      const query: Query = { fieldManager: this.fieldManager, force: true, dryRun: opts.dryRun ? 'All' : undefined };
      return await this.#call('apply', obj.kind, (signal) =>
        this.#rest.request<T>('PATCH', path, { query, body: obj, contentType: 'application/apply-patch+yaml', signal }),
      );
    } catch (err) {
      throw new KubeError('apply', statusOf(err), `${obj.kind} ${obj.metadata.name}: ${messageOf(err)}`);
    }
  }

  /** Create; an existing object of that name is returned as `conflict` (the caller decides). */
  async create<T extends KubeObject>(obj: T): Promise<{ created: true; object: T } | { created: false; conflict: true }> {
    try {
      const path = await this.#collectionPath(obj.apiVersion, obj.kind, obj.metadata.namespace);
      const object = await this.#call('create', obj.kind, (signal) =>
        this.#rest.request<T>('POST', path, { query: { fieldManager: this.fieldManager }, body: obj, signal }),
      );
      return { created: true, object };
    } catch (err) {
      if (statusOf(err) === 409) return { created: false, conflict: true };
      throw new KubeError('create', statusOf(err), `${obj.kind} ${obj.metadata.name}: ${messageOf(err)}`);
    }
  }

  /** The object as the apiserver has it now; undefined when there is none. */
  async read<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    try {
      const path = await this.#objectPath(ref);
      return await this.#call('get', ref.kind, (signal) => this.#rest.request<T>('GET', path, { signal }));
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw new KubeError('get', statusOf(err), `${ref.kind} ${ref.metadata.name}: ${messageOf(err)}`);
    }
  }

  /**
   * Replace, only if the object is still at `obj.metadata.resourceVersion`:
   * 'conflict' when someone wrote in between (409), 'gone' when it was deleted (404).
   */
  async replace<T extends KubeObject>(obj: T): Promise<T | 'conflict' | 'gone'> {
    if (!obj.metadata.resourceVersion) throw new KubeError('replace', undefined, `${obj.kind} ${obj.metadata.name}: replace needs the resourceVersion read`);
    try {
      const path = await this.#objectPath(obj);
      return await this.#call('replace', obj.kind, (signal) =>
        this.#rest.request<T>('PUT', path, { query: { fieldManager: this.fieldManager }, body: obj, signal }),
      );
    } catch (err) {
      const status = statusOf(err);
      if (status === 409) return 'conflict';
      if (status === 404) return 'gone';
      throw new KubeError('replace', status, `${obj.kind} ${obj.metadata.name}: ${messageOf(err)}`);
    }
  }

  /**
   * Merge-patches annotations (null removes one). With `resourceVersion` it is a
   * compare-and-swap: 'conflict' when the object changed since that version, so
   * of several replicas acting on one observation exactly one succeeds; 'gone'
   * when it no longer exists.
   */
  async annotate<T extends KubeObject>(ref: ObjectRef, annotations: Record<string, string | null>, opts: { resourceVersion?: string } = {}): Promise<T | 'conflict' | 'gone'> {
    const body = { metadata: { annotations, ...(opts.resourceVersion ? { resourceVersion: opts.resourceVersion } : {}) } };
    try {
      const path = await this.#objectPath(ref);
      return await this.#call('patch', ref.kind, (signal) =>
        this.#rest.request<T>('PATCH', path, { query: { fieldManager: this.fieldManager }, body, contentType: 'application/merge-patch+json', signal }),
      );
    } catch (err) {
      const status = statusOf(err);
      if (status === 409) return 'conflict';
      if (status === 404) return 'gone';
      throw new KubeError('patch', status, `${ref.kind} ${ref.metadata.name}: ${messageOf(err)}`);
    }
  }

  /** JSON merge patch of any fields (null removes a key); 'gone' when the object does not exist. */
  async mergePatch<T extends KubeObject>(ref: ObjectRef, patch: Record<string, unknown>): Promise<T | 'gone'> {
    try {
      const path = await this.#objectPath(ref);
      return await this.#call('patch', ref.kind, (signal) =>
        this.#rest.request<T>('PATCH', path, { query: { fieldManager: this.fieldManager }, body: patch, contentType: 'application/merge-patch+json', signal }),
      );
    } catch (err) {
      if (statusOf(err) === 404) return 'gone';
      throw new KubeError('patch', statusOf(err), `${ref.kind} ${ref.metadata.name}: ${messageOf(err)}`);
    }
  }

  /**
   * Read-modify-write with optimistic concurrency: reads the object, lets
   * `change` make the new one from it (undefined: the object does not exist;
   * return undefined to write nothing), creates or replaces it with the
   * resourceVersion read, and on a conflict (someone else wrote or deleted it
   * in between) reads and changes again, up to `attempts` times. `change` may
   * throw to refuse. Returns what was written (or the unchanged object).
   */
  async update<T extends KubeObject>(
    ref: ObjectRef,
    change: (current: T | undefined) => T | undefined | Promise<T | undefined>,
    opts: { attempts?: number } = {},
  ): Promise<T | undefined> {
    const attempts = opts.attempts ?? 10;
    let why = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const current = await this.read<T>(ref);
      const next = await change(current);
      if (next === undefined) return current;
      if (!current) {
        const result = await this.create(next);
        if (result.created) return result.object;
        why = 'created by someone else meanwhile';
      } else {
        const written = await this.replace<T>({ ...next, metadata: { ...next.metadata, resourceVersion: current.metadata.resourceVersion } });
        if (written !== 'conflict' && written !== 'gone') return written;
        why = written === 'conflict' ? 'changed by someone else meanwhile' : 'deleted meanwhile';
      }
      await sleep(Math.min(1000, 20 * 2 ** attempt) * Math.random());
    }
    throw new KubeError('update', 409, `${ref.kind} ${ref.metadata.name}: gave up after ${attempts} attempts (${why})`);
  }

  /**
   * Delete; already gone is fine. Background propagation lets the GC take the dependents.
   * With `resourceVersion`: only if unchanged since that version (false otherwise).
   */
  async delete(ref: ObjectRef, opts: { propagation?: 'Background' | 'Foreground'; resourceVersion?: string } = {}): Promise<boolean> {
    const preconditions = {
      ...(ref.metadata.uid ? { uid: ref.metadata.uid } : {}),
      ...(opts.resourceVersion ? { resourceVersion: opts.resourceVersion } : {}),
    };
    try {
      const path = await this.#objectPath(ref);
      const body = {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        propagationPolicy: opts.propagation ?? 'Background',
        ...(Object.keys(preconditions).length ? { preconditions } : {}),
      };
      await this.#call('delete', ref.kind, (signal) => this.#rest.request('DELETE', path, { body, signal }));
      return true;
    } catch (err) {
      const status = statusOf(err);
      // 404: gone already; 409 with a precondition: it is another object now, or it changed: not ours to delete.
      if (status === 404 || (status === 409 && Object.keys(preconditions).length)) return false;
      throw new KubeError('delete', status, `${ref.kind} ${ref.metadata.name}: ${messageOf(err)}`);
    }
  }

  /** Every object of a kind in a namespace (read page by page), for the rare lists outside the watch caches. */
  async list<T extends KubeObject>(apiVersion: string, kind: string, namespace: string, labelSelector?: string): Promise<T[]> {
    const items: T[] = [];
    await this.listPages({ apiVersion, kind, namespace }, { labelSelector, onPage: (page) => items.push(...(page as T[])) });
    return items;
  }

  /**
   * Lists page by page (`limit`/`continue`, 500 per page as client-go's
   * reflector) and hands each page to `onPage`, so that a list of 20,000 pods
   * is never held whole; returns the list's resourceVersion (to watch from).
   * An expired continue token (410) is thrown like any error: the caller lists
   * again from the start.
   */
  async listPages(ref: CollectionRef, opts: ListOptions): Promise<string> {
    const path = await this.#collectionPath(ref.apiVersion, ref.kind, ref.namespace, ref.plural);
    let token: string | undefined;
    let resourceVersion = '';
    do {
      const query: Query = { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, limit: opts.pageSize ?? 500, continue: token };
      const page = await this.#call('list', ref.kind, (signal) => this.#rest.request<{ items?: KubeObject[]; metadata?: { resourceVersion?: string; continue?: string } }>('GET', path, { query, signal }), opts.signal);
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      token = page.metadata?.continue || undefined;
      const items = page.items ?? [];
      // A list's items carry no apiVersion and kind; the cached objects should.
      for (const item of items) {
        item.apiVersion ??= ref.apiVersion;
        item.kind ??= ref.kind;
      }
      opts.onPage(items);
    } while (token);
    return resourceVersion;
  }

  /** One watch request from `resourceVersion`; resolves when the apiserver ends it (after `timeoutSeconds`). */
  async watch(ref: CollectionRef, opts: WatchOptions): Promise<void> {
    const path = await this.#collectionPath(ref.apiVersion, ref.kind, ref.namespace, ref.plural);
    const query: Query = {
      resourceVersion: opts.resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds: opts.timeoutSeconds,
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
    };
    this.#opts.onCall?.('watch', ref.kind, 200);
    await this.#rest.watch(path, query, { signal: opts.signal, onEvent: opts.onEvent, ...(opts.onOpen ? { onOpen: opts.onOpen } : {}) });
  }

  /** The last `lines` lines of a container's log ('' when there is none to read). */
  async podLogTail(namespace: string, pod: string, container: string, lines: number): Promise<string> {
    if (lines <= 0) return '';
    try {
      const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log`;
      return await this.#call('log', 'Pod', (signal) =>
        this.#rest.request<string>('GET', path, { query: { container, tailLines: lines, limitBytes: 64 * 1024 }, text: true, signal }),
      );
    } catch (err) {
      return `(log not available: ${messageOf(err)})`;
    }
  }

  /** Runs one API call with a timeout and retries on throttling, server errors and no answer. */
  async #call<T>(verb: string, kind: string, fn: (signal: AbortSignal) => Promise<T>, cancel?: AbortSignal): Promise<T> {
    let attempt = 0;
    for (;;) {
      attempt++;
      const timeout = AbortSignal.timeout(this.#opts.timeoutMs);
      const signal = cancel ? AbortSignal.any([timeout, cancel]) : timeout;
      try {
        const result = await fn(signal);
        this.#opts.onCall?.(verb, kind, 200);
        return result;
      } catch (err) {
        this.#opts.onCall?.(verb, kind, statusOf(err) ?? 'error');
        if (cancel?.aborted || attempt > this.#opts.retries || !isRetryable(err)) throw err;
        await sleep(Math.min(2000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2));
      }
    }
  }

  async #collectionPath(apiVersion: string, kind: string, namespace: string | undefined, plural?: string): Promise<string> {
    const info = plural ? { plural, namespaced: true } : await this.#discovery.resource(apiVersion, kind);
    const ns = info.namespaced ? `/namespaces/${encodeURIComponent(namespace || this.#defaultNamespace)}` : '';
    return `${groupVersionPath(apiVersion)}${ns}/${info.plural}`;
  }

  async #objectPath(ref: ObjectRef): Promise<string> {
    return `${await this.#collectionPath(ref.apiVersion, ref.kind, ref.metadata.namespace)}/${encodeURIComponent(ref.metadata.name)}`;
  }
}
