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
  /** Faults in a row of this cache, this one included (0 for `routine` and `gone`). */
  faults: number;
}

/** A cache listed again after one or more faults in a row. */
export interface RecoveryEvent {
  name: string;
  kind: string;
  faults: number;
  /** From the first of those faults to the good list. */
  downMs: number;
}

export interface RestartLogLine {
  level: 'debug' | 'info' | 'warning';
  msg: string;
}

/** Faults in a row between two reminders that a cache is still failing. */
export const FAULT_REMINDER_EVERY = 10;

/**
 * How a watch end or a relist reads in the log: a routine end is debug; a
 * 410 is info; a fault warns once, then at every tenth fault in a row (with
 * the retry backoff at its 10 s cap, about every 100 s), so that an apiserver
 * outage does not write a warning per cache per retry. The recovery says how
 * long it took.
 */
export function restartLogLine(event: RestartEvent): RestartLogLine {
  if (event.reason === 'routine') return { level: 'debug', msg: 'watch resumed' };
  if (event.reason === 'gone') return { level: 'info', msg: 'watch resourceVersion too old, cache relisted' };
  if (event.faults === 1) return { level: 'warning', msg: 'watch failed, cache relisted' };
  if (event.faults % FAULT_REMINDER_EVERY === 0) return { level: 'warning', msg: `watch still failing after ${event.faults} attempts in a row` };
  return { level: 'debug', msg: 'watch failed again' };
}

export function recoveryLogLine(event: RecoveryEvent): RestartLogLine {
  return { level: 'info', msg: `cache listed again after ${event.faults} failed attempt${event.faults === 1 ? '' : 's'} over ${Math.round(event.downMs / 1000)} s` };
}

export interface RegisteredCache {
  readonly status: Readonly<CacheStatus>;
}

export class CacheRegistry {
  readonly #caches = new Set<RegisteredCache>();
  readonly #listeners = new Set<(event: RestartEvent) => void>();
  readonly #recoveryListeners = new Set<(event: RecoveryEvent) => void>();

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

  /** `listener` hears every cache that lists again after faults; returns the unsubscribe. */
  onRecovered(listener: (event: RecoveryEvent) => void): () => void {
    this.#recoveryListeners.add(listener);
    return () => this.#recoveryListeners.delete(listener);
  }

  recovered(event: RecoveryEvent): void {
    for (const listener of this.#recoveryListeners) listener(event);
  }
}
