// smtp handler: one mail per record at or above its level to `toaddrs` via
// `mailhost`, like Python's SMTPHandler, but never in the request's path and
// never a flood: records wait in a bounded queue, at most `mailsPerMinute`
// mails leave per minute, and what piles up beyond that goes out as one
// summary mail when the next minute starts (with the count of dropped records).
import { createTransport } from 'nodemailer';
import type { LogHandler } from './hub.js';
import { format, type FormatterName, type LogRecord } from './record.js';
import type { QueueStats } from './queue.js';

export interface SmtpHandlerOptions {
  level: number;
  formatter: FormatterName;
  /** Host, or [host, port] (port 25 when only a host is given). */
  mailhost: string | [string, number];
  fromaddr: string;
  toaddrs: string[];
  subject: string;
  /** Require STARTTLS (Python's `secure`); otherwise plain SMTP as SMTPHandler does. */
  secure?: boolean;
  mailsPerMinute?: number;
  queueCapacity?: number;
  /** Most records listed in one summary mail. */
  summaryMax?: number;
  now?: () => number;
  timeoutMs?: number;
  /** Length of the rate-limit window (tests shorten it). */
  windowMs?: number;
}

const MINUTE = 60_000;

export class SmtpHandler implements LogHandler {
  readonly type = 'smtp';
  readonly level: number;
  readonly #opts: Required<Omit<SmtpHandlerOptions, 'now'>> & { now: () => number };
  readonly #transport: ReturnType<typeof createTransport>;
  #pending: string[] = [];
  #windowStart = 0;
  #sentInWindow = 0;
  #sending: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #stats = { queued: 0, dropped: 0, failed: 0, lastError: null as string | null, sent: 0, summaries: 0 };
  #droppedSinceSummary = 0;

  private constructor(opts: SmtpHandlerOptions) {
    this.#opts = {
      ...opts,
      secure: opts.secure ?? false,
      mailsPerMinute: opts.mailsPerMinute ?? 10,
      queueCapacity: opts.queueCapacity ?? 1000,
      summaryMax: opts.summaryMax ?? 200,
      now: opts.now ?? Date.now,
      timeoutMs: opts.timeoutMs ?? 5000,
      windowMs: opts.windowMs ?? MINUTE,
    };
    this.level = opts.level;
    const [host, port] = typeof opts.mailhost === 'string' ? [opts.mailhost, 25] : opts.mailhost;
    this.#transport = createTransport({
      host,
      port,
      secure: false,
      ignoreTLS: !this.#opts.secure,
      requireTLS: this.#opts.secure,
      connectionTimeout: this.#opts.timeoutMs,
      greetingTimeout: this.#opts.timeoutMs,
      socketTimeout: 2 * this.#opts.timeoutMs,
      disableFileAccess: true,
      disableUrlAccess: true,
    });
  }

  /** Connects once to check the mail host (rejects when it cannot be reached). */
  static async open(opts: SmtpHandlerOptions): Promise<SmtpHandler> {
    const handler = new SmtpHandler(opts);
    try {
      await handler.#transport.verify();
    } catch (err) {
      handler.#transport.close();
      const [host, port] = typeof opts.mailhost === 'string' ? [opts.mailhost, 25] : opts.mailhost;
      throw new Error(`mail host ${host}:${port} not usable: ${(err as Error).message}`);
    }
    return handler;
  }

  handle(record: LogRecord): void {
    if (this.#closed) return;
    if (this.#pending.length >= this.#opts.queueCapacity) {
      this.#stats.dropped++;
      this.#droppedSinceSummary++;
      return;
    }
    this.#pending.push(format(this.#opts.formatter, record));
    this.#kick();
  }

  get stats(): Readonly<QueueStats & { sent: number; summaries: number }> {
    return { ...this.#stats, queued: this.#pending.length };
  }

  /** Resolves when nothing is left to send in the current minute. */
  async flush(): Promise<void> {
    while (this.#sending) await this.#sending;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    // Send what is pending, within the limit, then give up on the rest.
    const deadline = this.#opts.now() + 2 * this.#opts.timeoutMs;
    while (this.#sending && this.#opts.now() < deadline) await this.#sending;
    this.#stats.dropped += this.#pending.length;
    this.#pending = [];
    this.#transport.close();
  }

  #kick(): void {
    this.#sending ??= this.#send().finally(() => {
      this.#sending = undefined;
      if (this.#pending.length > 0 && !this.#closed) this.#waitForNextWindow();
    });
  }

  #waitForNextWindow(): void {
    if (this.#timer) return;
    const delay = Math.max(10, this.#windowStart + this.#opts.windowMs - this.#opts.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#kick();
    }, delay);
    this.#timer.unref();
  }

  async #send(): Promise<void> {
    for (;;) {
      const now = this.#opts.now();
      if (now - this.#windowStart >= this.#opts.windowMs) {
        this.#windowStart = now;
        this.#sentInWindow = 0;
        // What piled up while the last window was full goes out as one summary.
        if (this.#pending.length > 1 || this.#droppedSinceSummary > 0) {
          await this.#summary();
          continue;
        }
      }
      if (this.#pending.length === 0 || this.#sentInWindow >= this.#opts.mailsPerMinute) return;
      const text = this.#pending.shift() as string;
      this.#sentInWindow++;
      await this.#mail(this.#opts.subject, text, 1);
    }
  }

  async #summary(): Promise<void> {
    const records = this.#pending.splice(0, this.#pending.length);
    const shown = records.slice(-this.#opts.summaryMax);
    const droppedWhileFull = this.#droppedSinceSummary;
    this.#droppedSinceSummary = 0;
    const total = records.length + droppedWhileFull;
    const notListed = total - shown.length;
    const head =
      `${total} log records arrived while the limit of ${this.#opts.mailsPerMinute} mails per minute was reached` +
      (notListed > 0 ? `; ${notListed} of them are not listed here (queue full or too many)` : '') +
      '.\n\n';
    this.#sentInWindow++;
    this.#stats.summaries++;
    await this.#mail(`${this.#opts.subject} (${total} records)`, head + shown.join('\n'), records.length);
  }

  async #mail(subject: string, text: string, records: number): Promise<void> {
    try {
      await this.#transport.sendMail({ from: this.#opts.fromaddr, to: this.#opts.toaddrs, subject, text });
      this.#stats.sent++;
    } catch (err) {
      this.#stats.failed += records;
      this.#stats.lastError = (err as Error).message;
    }
  }
}
