// A bounded queue drained by one async consumer: a handler's `handle()` only
// pushes (never waits), so a slow file system, mail host or syslog server never
// blocks a request. When the queue is full, new items are dropped and counted.
export interface QueueStats {
  queued: number;
  dropped: number;
  failed: number;
  lastError: string | null;
}

export class BoundedQueue<T> {
  #items: T[] = [];
  #running: Promise<void> | undefined;
  #closed = false;
  #stats: QueueStats = { queued: 0, dropped: 0, failed: 0, lastError: null };

  /**
   * @param consume handles a batch (at most `batchSize` items); a rejection is
   *   counted as failed items and the queue goes on.
   */
  constructor(
    private readonly consume: (batch: T[]) => Promise<void>,
    private readonly capacity = 10_000,
    private readonly batchSize = 256,
  ) {}

  /** Adds an item; false (and counted) when the queue is full or closed. */
  push(item: T): boolean {
    if (this.#closed || this.#items.length >= this.capacity) {
      this.#stats.dropped++;
      return false;
    }
    this.#items.push(item);
    this.#running ??= this.#drain();
    return true;
  }

  get length(): number {
    return this.#items.length;
  }

  get stats(): Readonly<QueueStats> {
    return { ...this.#stats, queued: this.#items.length };
  }

  /** Counts a failure that the consumer handled itself (e.g. one mail of a batch). */
  noteFailure(err: unknown, items = 1): void {
    this.#stats.failed += items;
    this.#stats.lastError = err instanceof Error ? err.message : String(err);
  }

  /** Resolves when everything queued so far has been consumed (or failed). */
  async flush(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** Stops accepting items and waits up to `timeoutMs` for the rest to drain. */
  async close(timeoutMs = 2000): Promise<void> {
    this.#closed = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flush(), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    this.#stats.dropped += this.#items.length;
    this.#items = [];
  }

  async #drain(): Promise<void> {
    try {
      while (this.#items.length > 0) {
        const batch = this.#items.splice(0, this.batchSize);
        try {
          await this.consume(batch);
        } catch (err) {
          this.noteFailure(err, batch.length);
        }
      }
    } finally {
      this.#running = undefined;
    }
  }
}
