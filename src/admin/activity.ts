// Starts and failures per minute over the last hour, for the admin page's
// chart. Fed by what the watch caches see (so starts made by any replica
// count): a start is a new anchor (counted at its creation time), a failure a
// service that turns failed (counted when seen; when the manager starts, at the
// time of the failed pod's newest event).
export const MINUTES = 60;

export interface ActivitySeries {
  /** Epoch minute (ms / 60000) of the last bucket; buckets run from end-59 to end. */
  end: number;
  starts: number[];
  failures: number[];
}

export class ActivityTracker {
  /** epoch minute -> count */
  readonly #starts = new Map<number, number>();
  readonly #failures = new Map<number, number>();
  /** Start ids (anchor uid) already counted, and those already counted as failed. */
  readonly #started = new Set<string>();
  readonly #failed = new Set<string>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** A start seen (by its anchor uid); counted once, if within the last hour. */
  start(uid: string, atMs: number): boolean {
    if (this.#started.has(uid)) return false;
    this.#started.add(uid);
    return this.#add(this.#starts, atMs);
  }

  /** A start seen failed; counted once per start. */
  failure(uid: string, atMs: number): boolean {
    if (this.#failed.has(uid)) return false;
    this.#failed.add(uid);
    return this.#add(this.#failures, atMs);
  }

  /** The start is gone (stopped): keep its counts, forget its id. */
  forget(uid: string): void {
    this.#started.delete(uid);
    this.#failed.delete(uid);
  }

  series(): ActivitySeries {
    const end = Math.floor(this.#now() / 60_000);
    this.#prune(end);
    const range = Array.from({ length: MINUTES }, (_, i) => end - MINUTES + 1 + i);
    return {
      end,
      starts: range.map((m) => this.#starts.get(m) ?? 0),
      failures: range.map((m) => this.#failures.get(m) ?? 0),
    };
  }

  #add(buckets: Map<number, number>, atMs: number): boolean {
    const end = Math.floor(this.#now() / 60_000);
    // A clock a little ahead of ours (the apiserver's timestamps) counts as now.
    const minute = Math.min(Math.floor(atMs / 60_000), end);
    if (!Number.isFinite(minute) || minute <= end - MINUTES) return false;
    buckets.set(minute, (buckets.get(minute) ?? 0) + 1);
    return true;
  }

  #prune(end: number): void {
    for (const buckets of [this.#starts, this.#failures]) for (const minute of buckets.keys()) if (minute <= end - MINUTES) buckets.delete(minute);
  }
}
