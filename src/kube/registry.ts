// Every watch cache of a gateway, in one place: readiness walks it (so no
// cache can be forgotten), and whoever counts and logs watch restarts
// subscribes once instead of per cache.
export type RestartReason =
  /** The apiserver ended the watch after its timeout: resumed from the last resourceVersion, no list. */
  | 'routine'
  /** 410 Gone: the resourceVersion is too old (compacted); relisted. */
  | 'gone'
  /** The watch or list failed (no answer, an error status, a broken or silent stream); relisted with backoff. */
  | 'error';

export interface CacheStatus {
  /** What the cache holds, e.g. `anchors` or `credentials Secret`. */
  name: string;
  kind: string;
  synced: boolean;
  /** Relists after the first list (reasons `gone` and `error`). */
  restarts: number;
  /** Routine watch ends resumed without a list. */
  resumes: number;
  /** When the apiserver was last heard from (an event, a bookmark, a watch opened or ended). */
  lastContact: number;
  lastError: string | null;
  /** Objects cached, and objects held back (a reflector's `hold` buffer). */
  objects: number;
  held: number;
  /** The last resourceVersion seen (a list's, an event's or a bookmark's). */
  resourceVersion: string;
}

export interface RestartEvent {
  name: string;
  kind: string;
  reason: RestartReason;
  detail: string;
}

export interface RegisteredCache {
  readonly status: Readonly<CacheStatus>;
}

export class CacheRegistry {
  readonly #caches = new Set<RegisteredCache>();
  readonly #listeners = new Set<(event: RestartEvent) => void>();

  add(cache: RegisteredCache): void {
    this.#caches.add(cache);
  }

  remove(cache: RegisteredCache): void {
    this.#caches.delete(cache);
  }

  /** The status of every running cache, in the order they started. */
  statuses(): CacheStatus[] {
    return [...this.#caches].map((c) => ({ ...c.status }));
  }

  get size(): number {
    return this.#caches.size;
  }

  /** `listener` hears every watch end and relist of every cache; returns the unsubscribe. */
  onRestart(listener: (event: RestartEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  restarted(event: RestartEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}
