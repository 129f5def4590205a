// file handler with time-based rotation, after Python's TimedRotatingFileHandler:
// `when` S, M, H, D (× `interval`), midnight or W0-W6 (Monday = 0, at local
// midnight starting that day); at rollover the file is renamed to
// `<filename>.<date suffix of the period that ended>` and only the newest
// `backupCount` rotated files are kept (0 keeps all). Writes go through a
// bounded queue; the clock is injectable for tests.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { LogHandler } from './hub.js';
import { BoundedQueue, type QueueStats } from './queue.js';
import { format, type FormatterName, type LogRecord } from './record.js';

export interface FileHandlerOptions {
  filename: string;
  level: number;
  formatter: FormatterName;
  when: string;
  interval?: number;
  backupCount: number;
  /** Milliseconds since the epoch; defaults to Date.now. */
  now?: () => number;
  queueCapacity?: number;
}

const SECOND = 1000;
const DAY = 86_400 * SECOND;

interface Schedule {
  intervalMs: number;
  suffix: (d: Date) => string;
  match: RegExp;
  /** Weekday (0 = Monday) for W0-W6, 'midnight' for midnight, undefined for plain intervals. */
  anchor?: number | 'midnight';
}

const pad = (n: number): string => String(n).padStart(2, '0');
const ymd = (d: Date): string => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

export function scheduleFor(when: string, interval = 1): Schedule {
  const w = when.toUpperCase();
  const date = /^\d{4}-\d{2}-\d{2}/.source;
  switch (w) {
    case 'S':
      return { intervalMs: interval * SECOND, suffix: (d) => `${ymd(d)}_${pad(d.getHours())}-${pad(d.getMinutes())}-${pad(d.getSeconds())}`, match: new RegExp(`^${date}_\\d{2}-\\d{2}-\\d{2}(\\.\\w+)?$`) };
    case 'M':
      return { intervalMs: interval * 60 * SECOND, suffix: (d) => `${ymd(d)}_${pad(d.getHours())}-${pad(d.getMinutes())}`, match: new RegExp(`^${date}_\\d{2}-\\d{2}(\\.\\w+)?$`) };
    case 'H':
      return { intervalMs: interval * 3600 * SECOND, suffix: (d) => `${ymd(d)}_${pad(d.getHours())}`, match: new RegExp(`^${date}_\\d{2}(\\.\\w+)?$`) };
    case 'D':
      return { intervalMs: interval * DAY, suffix: ymd, match: new RegExp(`^${date}(\\.\\w+)?$`) };
    case 'MIDNIGHT':
      return { intervalMs: DAY, suffix: ymd, match: new RegExp(`^${date}(\\.\\w+)?$`), anchor: 'midnight' };
    default: {
      const m = /^W([0-6])$/.exec(w);
      if (!m) throw new Error(`Invalid rollover interval specified: ${when}`);
      return { intervalMs: 7 * DAY, suffix: ymd, match: new RegExp(`^${date}(\\.\\w+)?$`), anchor: Number(m[1]) };
    }
  }
}

/** The first rollover time after `t` (ms), in local time like Python's default. */
export function nextRollover(schedule: Schedule, t: number): number {
  if (schedule.anchor === undefined) return t + schedule.intervalMs;
  const d = new Date(t);
  const midnight = new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).getTime();
  if (schedule.anchor === 'midnight') return midnight;
  const next = new Date(midnight);
  const weekday = (next.getDay() + 6) % 7; // 0 = Monday, as in Python
  const wait = (schedule.anchor - weekday + 7) % 7;
  return new Date(next.getFullYear(), next.getMonth(), next.getDate() + wait).getTime();
}

export class FileHandler implements LogHandler {
  readonly type = 'file';
  readonly level: number;
  readonly #opts: FileHandlerOptions;
  readonly #schedule: Schedule;
  readonly #now: () => number;
  readonly #queue: BoundedQueue<string>;
  #file: fs.FileHandle | undefined;
  #rolloverAt = 0;

  private constructor(opts: FileHandlerOptions) {
    this.#opts = opts;
    this.level = opts.level;
    this.#schedule = scheduleFor(opts.when, opts.interval ?? 1);
    this.#now = opts.now ?? Date.now;
    this.#queue = new BoundedQueue((lines) => this.#write(lines), opts.queueCapacity ?? 10_000);
  }

  /** Opens (creates) the file for appending; rejects when it cannot be written. */
  static async open(opts: FileHandlerOptions): Promise<FileHandler> {
    const handler = new FileHandler(opts);
    handler.#file = await fs.open(opts.filename, 'a');
    const stat = await handler.#file.stat();
    // Python starts from the file's mtime when it exists, so an old file rolls over at once.
    const start = stat.size > 0 ? Math.min(stat.mtimeMs, handler.#now()) : handler.#now();
    handler.#rolloverAt = nextRollover(handler.#schedule, start);
    return handler;
  }

  handle(record: LogRecord): void {
    this.#queue.push(`${format(this.#opts.formatter, record)}\n`);
  }

  get stats(): Readonly<QueueStats> {
    return this.#queue.stats;
  }

  /** Waits until every record handled so far is on disk. */
  flush(): Promise<void> {
    return this.#queue.flush();
  }

  async close(): Promise<void> {
    await this.#queue.close();
    await this.#file?.close().catch(() => {});
    this.#file = undefined;
  }

  async #write(lines: string[]): Promise<void> {
    let chunk = '';
    for (const line of lines) {
      if (this.#now() >= this.#rolloverAt) {
        if (chunk) await this.#append(chunk);
        chunk = '';
        await this.#rollover();
      }
      chunk += line;
    }
    if (chunk) await this.#append(chunk);
  }

  async #append(text: string): Promise<void> {
    this.#file ??= await fs.open(this.#opts.filename, 'a');
    await this.#file.appendFile(text);
  }

  async #rollover(): Promise<void> {
    const now = this.#now();
    await this.#file?.close().catch(() => {});
    this.#file = undefined;
    const base = this.#opts.filename;
    const rotated = `${base}.${this.#schedule.suffix(new Date(this.#rolloverAt - this.#schedule.intervalMs))}`;
    try {
      await fs.rm(rotated, { force: true });
      await fs.rename(base, rotated);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.#queue.noteFailure(err, 0);
    }
    if (this.#opts.backupCount > 0) await this.#deleteOld();
    let next = nextRollover(this.#schedule, now);
    while (next <= now) next += this.#schedule.intervalMs;
    this.#rolloverAt = next;
    this.#file = await fs.open(base, 'a');
  }

  async #deleteOld(): Promise<void> {
    const dir = path.dirname(this.#opts.filename);
    const prefix = `${path.basename(this.#opts.filename)}.`;
    const names = (await fs.readdir(dir)).filter((n) => n.startsWith(prefix) && this.#schedule.match.test(n.slice(prefix.length))).sort();
    const excess = names.length - this.#opts.backupCount;
    for (const name of names.slice(0, Math.max(0, excess))) await fs.rm(path.join(dir, name), { force: true });
  }
}
