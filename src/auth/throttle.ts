// Failed-login throttling: per source address, a sliding window of failure
// times. Once a source has `maxFailures` failures within `windowMs`, it is
// refused (429 + Retry-After) until the oldest of them leaves the window.
// Other sources are not affected. In memory, per replica; the clock is
// injectable for tests.

export interface ThrottleOptions {
  maxFailures?: number;
  windowMs?: number;
  /** Bound on tracked sources; the least recently failing are forgotten first. */
  maxSources?: number;
  now?: () => number;
}

export class LoginThrottle {
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly #maxSources: number;
  readonly #now: () => number;
  /** source -> failure times, oldest first; Map order = least recently failing first. */
  readonly #failures = new Map<string, number[]>();

  constructor(opts: ThrottleOptions = {}) {
    this.maxFailures = opts.maxFailures ?? 10;
    this.windowMs = opts.windowMs ?? 60_000;
    this.#maxSources = opts.maxSources ?? 10_000;
    this.#now = opts.now ?? Date.now;
  }

  /** Seconds until `source` may try again, or 0 when it may try now. */
  retryAfter(source: string): number {
    const times = this.#recent(source);
    if (times.length < this.maxFailures) return 0;
    const oldestRelevant = times[times.length - this.maxFailures]!;
    const waitMs = oldestRelevant + this.windowMs - this.#now();
    return waitMs > 0 ? Math.ceil(waitMs / 1000) : 0;
  }

  recordFailure(source: string): void {
    const times = this.#recent(source);
    times.push(this.#now());
    // Only the last maxFailures matter for the decision.
    if (times.length > this.maxFailures) times.splice(0, times.length - this.maxFailures);
    this.#failures.delete(source);
    this.#failures.set(source, times);
    while (this.#failures.size > this.#maxSources) {
      const oldest = this.#failures.keys().next().value;
      if (oldest === undefined) break;
      this.#failures.delete(oldest);
    }
  }

  /** Number of sources currently tracked (for tests and metrics). */
  get trackedSources(): number {
    return this.#failures.size;
  }

  #recent(source: string): number[] {
    const times = this.#failures.get(source);
    if (!times) return [];
    const cutoff = this.#now() - this.windowMs;
    while (times.length && times[0]! <= cutoff) times.shift();
    if (times.length === 0) this.#failures.delete(source);
    return times;
  }
}
