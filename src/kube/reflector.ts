// A watch cache of one kind in one namespace, as client-go's reflector: list
// (page by page), then watch from the list's resourceVersion with bookmarks.
// When the apiserver ends a watch after its timeout (routine, every 5 to 10
// minutes) the watch resumes from the last resourceVersion seen (an event's
// or a bookmark's): no list. Only 410 Gone (the version was compacted away) or
// a real fault (no answer, an error status, a broken stream, a stream silent
// past its timeout, a watch that ends at once) relists, with backoff, while
// the last good cache keeps serving. Each cache registers with its gateway's
// CacheRegistry while it runs, which readiness walks.
import { setTimeout as sleep } from 'node:timers/promises';
import type { CollectionRef, KubeObject, ListOptions, WatchOptions } from './gateway.js';
import { messageOf, statusOf } from './errors.js';
import type { CacheRegistry, CacheStatus, RegisteredCache, RestartReason } from './registry.js';
import type { WatchEvent } from './rest.js';

export interface ReflectorSpec<T extends KubeObject = KubeObject> {
  apiVersion: string;
  kind: string;
  /** Plural resource name, for the paths. */
  plural: string;
  namespace: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** What the cache is, for readiness and logs (default: the kind). */
  name?: string;
  /**
   * Server-side timeout of a watch; each watch asks for a random time between
   * this and 1.5 times this (default 300: 5 to 7.5 minutes, so the caches do not
   * end together, and a quiet cache, e.g. events, which the apiserver sends no
   * bookmarks for, is heard from well within readiness' 10 minutes).
   */
  watchTimeoutSeconds?: number;
  /** Objects per list request (default 500). */
  pageSize?: number;
  /** What of each object to keep in the cache (default: all but metadata.managedFields). */
  project?: (obj: KubeObject) => KubeObject;
  /**
   * Whether to cache an object not cached yet (default: all). An object once
   * cached stays until it is deleted. Objects refused are held in a bounded
   * buffer (`hold`) until `release(key)` offers them again, or dropped.
   */
  keep?: (obj: T) => boolean;
  hold?: { key: (obj: T) => string | undefined; max: number };
  /** Awaited before the first list (e.g. another cache that `keep` reads). */
  waitFor?: () => Promise<void>;
}

export interface ReflectorHandlers<T> {
  onUpsert?: (obj: T, previous: T | undefined) => void;
  onDelete?: (obj: T) => void;
  /** After a (re)list replaced the whole cache. */
  onResync?: () => void;
}

/** What readiness reads of a cache (a CacheStatus; `name` and `resumes` are optional for hand-made ones). */
export type ReflectorStatus = Pick<CacheStatus, 'kind' | 'synced' | 'restarts' | 'lastContact' | 'lastError'> & Partial<Omit<CacheStatus, 'kind' | 'synced' | 'restarts' | 'lastContact' | 'lastError'>>;

/** The part of KubeGateway a reflector uses. */
export interface ListWatchSource {
  readonly caches: CacheRegistry;
  listPages(ref: CollectionRef, opts: ListOptions): Promise<string>;
  watch(ref: CollectionRef, opts: WatchOptions): Promise<void>;
}

/** Timings, injectable for tests. */
export interface ReflectorTiming {
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** A watch that ends sooner than this without an event counts as a fault (as in client-go). */
  minWatchMs: number;
  /** How long past its server-side timeout a watch may stay open before it counts as dead. */
  graceMs: number;
  random: () => number;
}

const DEFAULT_TIMING: ReflectorTiming = { backoffInitialMs: 250, backoffMaxMs: 10_000, minWatchMs: 1000, graceMs: 60_000, random: Math.random };

/** Ends a watch with a reason of its own (an ERROR event, a silent stream, a watch that ended at once). */
class WatchFault extends Error {
  constructor(
    readonly reason: Exclude<RestartReason, 'routine'>,
    message: string,
  ) {
    super(message);
  }
}

/** A bounded buffer of refused objects, oldest dropped first, found by key. */
class Hold<T extends KubeObject> {
  readonly #byName = new Map<string, { obj: T; key: string | undefined }>();
  readonly #byKey = new Map<string, Set<string>>();
  constructor(
    private readonly keyOf: (obj: T) => string | undefined,
    private readonly max: number,
  ) {}

  get size(): number {
    return this.#byName.size;
  }

  put(obj: T): void {
    const name = obj.metadata.name;
    this.drop(name);
    if (this.max <= 0) return;
    const key = this.keyOf(obj);
    this.#byName.set(name, { obj, key });
    if (key !== undefined) {
      let names = this.#byKey.get(key);
      if (!names) this.#byKey.set(key, (names = new Set()));
      names.add(name);
    }
    if (this.#byName.size > this.max) {
      const oldest = this.#byName.keys().next().value;
      if (oldest !== undefined) this.drop(oldest);
    }
  }

  drop(name: string): void {
    const entry = this.#byName.get(name);
    if (!entry) return;
    this.#byName.delete(name);
    if (entry.key === undefined) return;
    const names = this.#byKey.get(entry.key);
    names?.delete(name);
    if (names?.size === 0) this.#byKey.delete(entry.key);
  }

  take(key: string): T[] {
    const names = this.#byKey.get(key);
    if (!names) return [];
    const out: T[] = [];
    for (const name of [...names]) {
      const entry = this.#byName.get(name);
      this.drop(name);
      if (entry) out.push(entry.obj);
    }
    return out;
  }

  clear(): void {
    this.#byName.clear();
    this.#byKey.clear();
  }
}

export class Reflector<T extends KubeObject> implements RegisteredCache {
  readonly #cache = new Map<string, T>();
  readonly #hold: Hold<T> | undefined;
  readonly #status: CacheStatus;
  readonly #stopper = new AbortController();
  readonly #timing: ReflectorTiming;
  #running = false;
  /** Faults in a row, and when the first of them happened (for the recovery's log line). */
  #faults = 0;
  #faultingSince = 0;
  readonly #firstSync: Promise<void>;
  #resolveFirstSync!: () => void;

  readonly #source: ListWatchSource;
  readonly #handlers: ReflectorHandlers<T>;

  constructor(source: ListWatchSource, readonly spec: ReflectorSpec<T>, handlers: ReflectorHandlers<T> = {}, timing: Partial<ReflectorTiming> = {}) {
    this.#source = source;
    this.#handlers = handlers;
    this.#status = { name: spec.name ?? spec.kind, kind: spec.kind, synced: false, restarts: 0, resumes: 0, lastContact: 0, lastError: null, objects: 0, held: 0, resourceVersion: '' };
    this.#timing = { ...DEFAULT_TIMING, ...timing };
    this.#hold = spec.hold ? new Hold<T>(spec.hold.key, spec.hold.max) : undefined;
    this.#firstSync = new Promise((resolve) => (this.#resolveFirstSync = resolve));
  }

  get status(): Readonly<CacheStatus> {
    return { ...this.#status, objects: this.#cache.size, held: this.#hold?.size ?? 0 };
  }

  get(name: string): T | undefined {
    return this.#cache.get(name);
  }

  values(): IterableIterator<T> {
    return this.#cache.values();
  }

  get size(): number {
    return this.#cache.size;
  }

  /** Objects refused by `keep` and held for a later `release`. */
  get heldCount(): number {
    return this.#hold?.size ?? 0;
  }

  /** Offers the held objects of `key` again (e.g. the events of a pod that has just appeared). */
  release(key: string): void {
    if (!this.#hold) return;
    for (const obj of this.#hold.take(key)) this.#upsert(obj);
  }

  /** Resolves once the first list has filled the cache. */
  waitForSync(): Promise<void> {
    return this.#firstSync;
  }

  start(): void {
    if (this.#running || this.#stopper.signal.aborted) return;
    this.#running = true;
    this.#source.caches.add(this);
    void this.#run();
  }

  stop(): void {
    this.#stopper.abort();
    this.#source.caches.remove(this);
  }

  get #ref(): CollectionRef {
    const { apiVersion, kind, namespace, plural } = this.spec;
    return { apiVersion, kind, namespace, plural };
  }

  get #stopped(): boolean {
    return this.#stopper.signal.aborted;
  }

  async #run(): Promise<void> {
    if (this.spec.waitFor) await this.spec.waitFor().catch(() => undefined);
    let backoffMs = this.#timing.backoffInitialMs;
    let resourceVersion: string | undefined;
    while (!this.#stopped) {
      let reason: RestartReason;
      let detail: string;
      try {
        if (resourceVersion === undefined) {
          resourceVersion = await this.#list();
          this.#status.resourceVersion = resourceVersion;
        }
        const watched = await this.#watch(resourceVersion);
        resourceVersion = watched.resourceVersion;
        reason = 'routine';
        detail = `watch ended after ${Math.round(watched.ms / 1000)} s (${watched.events} events); resumed at resourceVersion ${resourceVersion}`;
      } catch (err) {
        if (this.#stopped) break;
        reason = err instanceof WatchFault ? err.reason : statusOf(err) === 410 ? 'gone' : 'error';
        detail = messageOf(err);
        resourceVersion = undefined;
      }
      if (reason === 'error') {
        if (this.#faults === 0) this.#faultingSince = Date.now();
        this.#faults++;
      }
      this.#source.caches.restarted({ name: this.#status.name, kind: this.spec.kind, reason, detail, faults: reason === 'error' ? this.#faults : 0 });
      if (reason === 'routine') {
        this.#status.resumes++;
        backoffMs = this.#timing.backoffInitialMs;
        continue;
      }
      this.#status.restarts++;
      this.#status.lastError = detail;
      // Gone: relist at once (after a short pause); a fault: back off, longer each time.
      const pause = reason === 'gone' ? this.#timing.backoffInitialMs : backoffMs;
      if (reason === 'error') backoffMs = Math.min(backoffMs * 2, this.#timing.backoffMaxMs);
      await sleep(pause * (0.75 + this.#timing.random() / 2), undefined, { signal: this.#stopper.signal }).catch(() => undefined);
    }
  }

  #contact(): void {
    this.#status.lastContact = Date.now();
  }

  #project(obj: KubeObject): T {
    return (this.spec.project ?? slim)(obj) as T;
  }

  async #list(): Promise<string> {
    const fresh = new Map<string, T>();
    const held: T[] = [];
    const keep = this.spec.keep;
    const resourceVersion = await this.#source.listPages(this.#ref, {
      labelSelector: this.spec.labelSelector,
      fieldSelector: this.spec.fieldSelector,
      pageSize: this.spec.pageSize,
      signal: this.#stopper.signal,
      onPage: (items) => {
        for (const item of items) {
          const obj = this.#project(item);
          const name = obj.metadata.name;
          if (!keep || this.#cache.has(name) || keep(obj)) fresh.set(name, obj);
          else if (this.#hold) held.push(obj);
        }
      },
    });
    const old = new Map(this.#cache);
    this.#cache.clear();
    for (const [name, obj] of fresh) this.#cache.set(name, obj);
    this.#hold?.clear();
    for (const obj of held) this.#hold?.put(obj);
    for (const [name, obj] of old) if (!fresh.has(name)) this.#handlers.onDelete?.(obj);
    for (const [name, obj] of fresh) {
      const previous = old.get(name);
      if (previous?.metadata.resourceVersion !== obj.metadata.resourceVersion) this.#handlers.onUpsert?.(obj, previous);
    }
    this.#status.synced = true;
    this.#contact();
    this.#status.lastError = null;
    if (this.#faults > 0) {
      this.#source.caches.recovered({ name: this.#status.name, kind: this.spec.kind, faults: this.#faults, downMs: Date.now() - this.#faultingSince });
      this.#faults = 0;
    }
    this.#handlers.onResync?.();
    this.#resolveFirstSync();
    return resourceVersion;
  }

  async #watch(from: string): Promise<{ resourceVersion: string; events: number; ms: number }> {
    const timeoutSeconds = Math.round((this.spec.watchTimeoutSeconds ?? 300) * (1 + this.#timing.random() / 2));
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new WatchFault('error', `watch of ${this.#status.name} silent ${Math.round(this.#timing.graceMs / 1000)} s past its ${timeoutSeconds} s timeout`)),
      timeoutSeconds * 1000 + this.#timing.graceMs,
    );
    // A watchdog only: it must not keep a stopping process alive.
    timer.unref();
    const started = Date.now();
    let resourceVersion = from;
    let events = 0;
    try {
      await this.#source.watch(this.#ref, {
        resourceVersion: from,
        timeoutSeconds,
        labelSelector: this.spec.labelSelector,
        fieldSelector: this.spec.fieldSelector,
        signal: AbortSignal.any([this.#stopper.signal, deadline.signal]),
        onOpen: () => this.#contact(),
        onEvent: (event) => {
          this.#contact();
          resourceVersion = this.#onEvent(event) ?? resourceVersion;
          this.#status.resourceVersion = resourceVersion;
          if (event.type !== 'BOOKMARK') events++;
        },
      });
    } catch (err) {
      if (deadline.signal.aborted && !this.#stopped) throw deadline.signal.reason;
      throw err;
    } finally {
      clearTimeout(timer);
    }
    this.#contact();
    const ms = Date.now() - started;
    if (ms < this.#timing.minWatchMs && events === 0) throw new WatchFault('error', `very short watch of ${this.#status.name}: ended after ${ms} ms without an event`);
    return { resourceVersion, events, ms };
  }

  /** Applies one watch event; returns the resourceVersion it brings. */
  #onEvent(event: WatchEvent): string | undefined {
    const raw = event.object as unknown as KubeObject;
    if (event.type === 'ERROR') {
      const status = event.object as { code?: number; reason?: string; message?: string };
      const message = `watch of ${this.#status.name}: ${status.code ?? ''} ${status.reason ?? ''} ${status.message ?? ''}`.replace(/\s+/g, ' ').trim();
      throw new WatchFault(status.code === 410 ? 'gone' : 'error', message);
    }
    const version = raw.metadata?.resourceVersion;
    if (event.type === 'BOOKMARK') return version;
    const obj = this.#project(raw);
    const name = obj.metadata.name;
    if (event.type === 'DELETED') {
      const old = this.#cache.get(name);
      this.#hold?.drop(name);
      if (old) {
        this.#cache.delete(name);
        this.#handlers.onDelete?.(old);
      }
    } else if (event.type === 'ADDED' || event.type === 'MODIFIED') {
      this.#upsert(obj);
    }
    return version;
  }

  #upsert(obj: T): void {
    const name = obj.metadata.name;
    const previous = this.#cache.get(name);
    if (!previous && this.spec.keep && !this.spec.keep(obj)) {
      this.#hold?.put(obj);
      return;
    }
    this.#cache.set(name, obj);
    this.#handlers.onUpsert?.(obj, previous);
  }
}

/**
 * Drops metadata.managedFields, which nothing here reads: a third of a pod's
 * and of an anchor's JSON, so about 35 MB of the manager's heap at 5,000
 * services (bench: `npm run bench -- memory`).
 */
export function slim<T extends KubeObject>(obj: T): T {
  if (obj.metadata && 'managedFields' in obj.metadata) delete obj.metadata.managedFields;
  return obj;
}
