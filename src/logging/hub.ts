// The destination of the pino logger: fans each record out to the configured
// handlers, which can be swapped while the manager runs. A handler that throws
// is counted and skipped; it never takes the others (or the request) down.
// Every line is first cleared of the registered secret values (`secrets`).
import { SecretValues } from './redact.js';
import type { LogRecord } from './record.js';

export interface LogHandler {
  readonly type: string;
  readonly level: number;
  handle(record: LogRecord): void;
  close(): Promise<void>;
  /** Waits until what was handled so far has left (tests, shutdown). */
  flush?(): Promise<void>;
  /** Queue counters of an asynchronous handler. */
  readonly stats?: Readonly<Record<string, unknown>>;
}

export class LogHub {
  #handlers = new Map<string, LogHandler>();
  #errors = 0;
  /** The lowest level any handler takes: records below it are dropped before parsing. */
  #minLevel = Infinity;
  readonly secrets: SecretValues;
  onHandlerError: (type: string, err: unknown) => void = () => {};

  constructor(secrets: SecretValues = new SecretValues()) {
    this.secrets = secrets;
  }

  /** pino calls this with one serialized JSON line per record. */
  write(line: string): void {
    // pino puts the level first: a cheap look saves parsing records nobody takes.
    const level = Number(/^\{"level":(\d+)/.exec(line)?.[1] ?? NaN);
    if (level < this.#minLevel) return;
    let record: LogRecord;
    try {
      record = JSON.parse(this.secrets.mask(line)) as LogRecord;
    } catch {
      return;
    }
    if (typeof record.level !== 'number') return;
    for (const handler of this.#handlers.values()) {
      if (record.level < handler.level) continue;
      try {
        handler.handle(record);
      } catch (err) {
        this.#errors++;
        this.onHandlerError(handler.type, err);
      }
    }
  }

  get errorCount(): number {
    return this.#errors;
  }

  types(): string[] {
    return [...this.#handlers.keys()];
  }

  handler(type: string): LogHandler | undefined {
    return this.#handlers.get(type);
  }

  /** Installs `handler` under its type, closing the one it replaces. */
  async set(handler: LogHandler): Promise<void> {
    const previous = this.#handlers.get(handler.type);
    this.#handlers.set(handler.type, handler);
    this.#updateMinLevel();
    if (previous && previous !== handler) await previous.close().catch(() => {});
  }

  #updateMinLevel(): void {
    this.#minLevel = Math.min(...[...this.#handlers.values()].map((h) => h.level));
  }

  async remove(type: string): Promise<void> {
    const previous = this.#handlers.get(type);
    this.#handlers.delete(type);
    this.#updateMinLevel();
    if (previous) await previous.close().catch(() => {});
  }

  /** Waits until every handler has sent what it was given so far. */
  async flush(): Promise<void> {
    await Promise.all([...this.#handlers.values()].map((h) => h.flush?.().catch(() => {})));
  }

  async closeAll(): Promise<void> {
    const all = [...this.#handlers.values()];
    this.#handlers.clear();
    this.#updateMinLevel();
    await Promise.all(all.map((h) => h.close().catch(() => {})));
  }
}
