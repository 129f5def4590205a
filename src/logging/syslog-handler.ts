// syslog handler: RFC 5424 messages to `address` [host, port] over UDP
// ("ext://socket.SOCK_DGRAM", one message per datagram) or TCP
// ("ext://socket.SOCK_STREAM", RFC 6587 octet-counting framing), or to a Unix
// stream socket when `address` is a path (Node has no Unix datagram sockets).
// Sending goes through a bounded queue; a lost TCP connection is re-opened on
// the next batch, and what cannot be sent is counted, never retried forever.
import * as dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import type { LogHandler } from './hub.js';
import { LEVELS } from './levels.js';
import { BoundedQueue, type QueueStats } from './queue.js';
import { format, type FormatterName, type LogRecord } from './record.js';

export interface SyslogHandlerOptions {
  level: number;
  formatter: FormatterName;
  address: string | [string, number];
  socktype: 'dgram' | 'stream';
  /** Facility number (1 = user). */
  facility: number;
  appname?: string;
  hostname?: string;
  timeoutMs?: number;
  queueCapacity?: number;
}

/** RFC 5424 severity of a manager level. */
export function severityOf(level: number): number {
  if (level >= LEVELS.critical) return 2;
  if (level >= LEVELS.error) return 3;
  if (level >= LEVELS.warning) return 4;
  if (level >= LEVELS.info) return 6;
  return 7;
}

const MAX_DATAGRAM = 64_000;
const printable = (s: string, max: number): string => s.replace(/[^\x21-\x7e]/g, '_').slice(0, max) || '-';

/** `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID - - MSG` (RFC 5424, no structured data). */
export function rfc5424(record: LogRecord, text: string, facility: number, hostname: string, appname: string, pid = process.pid): string {
  const pri = facility * 8 + severityOf(record.level);
  const time = Number.isFinite(record.time) ? new Date(record.time).toISOString() : new Date().toISOString();
  return `<${pri}>1 ${time} ${printable(hostname, 255)} ${printable(appname, 48)} ${pid} - - ${text.replace(/\n/g, ' ')}`;
}

export class SyslogHandler implements LogHandler {
  readonly type = 'syslog';
  readonly level: number;
  readonly #opts: SyslogHandlerOptions & { appname: string; hostname: string; timeoutMs: number };
  readonly #queue: BoundedQueue<string>;
  #udp: dgram.Socket | undefined;
  #udpHost = '';
  #tcp: net.Socket | undefined;

  private constructor(opts: SyslogHandlerOptions) {
    this.#opts = { ...opts, appname: opts.appname ?? 'k8smgr', hostname: opts.hostname ?? os.hostname(), timeoutMs: opts.timeoutMs ?? 5000 };
    this.level = opts.level;
    this.#queue = new BoundedQueue((messages) => this.#send(messages), opts.queueCapacity ?? 10_000, 128);
  }

  /** Resolves the host (UDP) or connects (TCP, Unix socket); rejects when that fails. */
  static async open(opts: SyslogHandlerOptions): Promise<SyslogHandler> {
    const handler = new SyslogHandler(opts);
    const { address } = opts;
    if (typeof address === 'string' || opts.socktype === 'stream') {
      await handler.#connect();
    } else {
      const { address: ip, family } = await lookup(address[0]);
      handler.#udpHost = ip;
      handler.#udp = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
      handler.#udp.on('error', (err) => handler.#queue.noteFailure(err, 0));
      handler.#udp.unref();
    }
    return handler;
  }

  handle(record: LogRecord): void {
    const { facility, hostname, appname, formatter } = this.#opts;
    this.#queue.push(rfc5424(record, format(formatter, record), facility, hostname, appname));
  }

  get stats(): Readonly<QueueStats> {
    return this.#queue.stats;
  }

  flush(): Promise<void> {
    return this.#queue.flush();
  }

  async close(): Promise<void> {
    await this.#queue.close();
    this.#udp?.close();
    this.#udp = undefined;
    this.#tcp?.end();
    this.#tcp = undefined;
  }

  #connect(): Promise<net.Socket> {
    const { address, timeoutMs } = this.#opts;
    return new Promise((resolve, reject) => {
      const where = typeof address === 'string' ? address : `${address[0]}:${address[1]}`;
      const socket = typeof address === 'string' ? net.connect({ path: address }) : net.connect({ host: address[0], port: address[1] });
      const timer = setTimeout(() => socket.destroy(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.setKeepAlive(true, 30_000);
        socket.unref();
        this.#tcp = socket;
        resolve(socket);
      });
      socket.on('error', (err) => {
        clearTimeout(timer);
        if (this.#tcp === socket) this.#tcp = undefined;
        reject(new Error(`syslog server ${where} not reachable: ${err.message}`));
      });
      socket.on('close', () => {
        if (this.#tcp === socket) this.#tcp = undefined;
      });
    });
  }

  async #send(messages: string[]): Promise<void> {
    if (this.#udp) {
      const socket = this.#udp;
      const port = (this.#opts.address as [string, number])[1];
      await Promise.all(
        messages.map(
          (m) =>
            new Promise<void>((resolve) => {
              socket.send(Buffer.from(m).subarray(0, MAX_DATAGRAM), port, this.#udpHost, (err) => {
                if (err) this.#queue.noteFailure(err);
                resolve();
              });
            }),
        ),
      );
      return;
    }
    const framed = messages.map((m) => `${Buffer.byteLength(m)} ${m}`).join('');
    try {
      await this.#write(this.#tcp && !this.#tcp.destroyed ? this.#tcp : await this.#connect(), framed);
    } catch {
      // The server closed the connection since the last batch: one fresh try.
      this.#tcp?.destroy();
      this.#tcp = undefined;
      await this.#write(await this.#connect(), framed);
    }
  }

  #write(socket: net.Socket, data: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      socket.write(data, (err) => (err ? reject(err) : resolve()));
    });
  }
}
