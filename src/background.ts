// The background parts of a running manager (watch caches, supervisors,
// senders, watchers) behind one small lifecycle, registered in one place:
// `k8smgr serve` starts them in the order they were added, readiness walks them
// for its details (and a part that says it is not ready holds readiness back),
// and shutdown stops them in the reverse order. Neutral: no room imported.

export interface BackgroundPart {
  /** Its key in the readiness details and in log lines. */
  readonly name: string;
  /** Starts the work; resolves when the part may be relied on (e.g. its cache synced), or at once. */
  start(): void | Promise<void>;
  /** False while the replica should not get traffic because of this part (omit: never holds readiness back). */
  ready?(): boolean;
  /** What readiness and health show about this part (omit: nothing). */
  details?(): Record<string, unknown>;
  /** Ends the work; safe to call once whether or not start() finished. */
  stop(): void | Promise<void>;
}

export interface PartStatus {
  name: string;
  state: 'added' | 'starting' | 'running' | 'stopped' | 'failed';
  ready: boolean;
}

export class Background {
  readonly #parts: BackgroundPart[] = [];
  readonly #state = new Map<BackgroundPart, PartStatus['state']>();
  readonly #onStopError: (part: string, err: unknown) => void;

  constructor(opts: { onStopError?: (part: string, err: unknown) => void } = {}) {
    this.#onStopError = opts.onStopError ?? (() => {});
  }

  /** Registers a part (not started yet); returns it. */
  add<T extends BackgroundPart>(part: T): T {
    if (this.#parts.some((p) => p.name === part.name)) throw new Error(`background part ${part.name} registered twice`);
    this.#parts.push(part);
    this.#state.set(part, 'added');
    return part;
  }

  /** Starts every part not started yet, one after the other, in the order they were added. */
  async start(): Promise<void> {
    for (const part of this.#parts) {
      if (this.#state.get(part) !== 'added') continue;
      this.#state.set(part, 'starting');
      try {
        await part.start();
        this.#state.set(part, 'running');
      } catch (err) {
        this.#state.set(part, 'failed');
        throw err;
      }
    }
  }

  /** Stops one part now (e.g. the Lease before the HTTP server); stopAll() skips it later. */
  async stop(name: string): Promise<void> {
    const part = this.#parts.find((p) => p.name === name);
    if (part) await this.#stopPart(part);
  }

  /** Stops every part in the reverse order of registration; a part that fails to stop does not hold the others. */
  async stopAll(): Promise<void> {
    for (const part of [...this.#parts].reverse()) await this.#stopPart(part);
  }

  async #stopPart(part: BackgroundPart): Promise<void> {
    if (this.#state.get(part) === 'stopped') return;
    this.#state.set(part, 'stopped');
    try {
      await part.stop();
    } catch (err) {
      this.#onStopError(part.name, err);
    }
  }

  /** True when no running part holds readiness back. */
  ready(): boolean {
    return this.#parts.every((p) => this.#state.get(p) !== 'running' || p.ready?.() !== false);
  }

  /** Per part with details: its details (readiness and health show them). */
  details(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const part of this.#parts) if (part.details) out[part.name] = part.details();
    return out;
  }

  statuses(): PartStatus[] {
    return this.#parts.map((p) => {
      const state = this.#state.get(p) ?? 'added';
      return { name: p.name, state, ready: state === 'running' && p.ready?.() !== false };
    });
  }
}
