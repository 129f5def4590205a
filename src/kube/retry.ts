// A bounded wait between attempts at something the cluster has to finish
// first (an object of the same name still being deleted, another replica's
// word on an object): one interval between attempts, a deadline for all.
import { setTimeout as sleep } from 'node:timers/promises';

export class RetryWindow {
  readonly #intervalMs: number;
  readonly #deadline: number;

  constructor(opts: { intervalMs: number; timeoutMs: number }) {
    this.#intervalMs = opts.intervalMs;
    this.#deadline = Date.now() + opts.timeoutMs;
  }

  /** True once the deadline has passed. */
  get expired(): boolean {
    return Date.now() >= this.#deadline;
  }

  /** Waits one interval (never past the deadline); false, without waiting, once the deadline has passed. */
  async pause(): Promise<boolean> {
    const left = this.#deadline - Date.now();
    if (left <= 0) return false;
    await sleep(Math.min(this.#intervalMs, left));
    return true;
  }
}
