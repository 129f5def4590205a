// Builds a running handler from a validated configuration. Building does the
// I/O that tells whether the handler can work at all (open the file, reach the
// mail host, connect to the syslog server) and rejects with the reason.
import type { LogHandler } from './hub.js';
import { FileHandler } from './file-handler.js';
import { FACILITIES, SOCK_STREAM, type HandlerConfig, type HandlerType } from './handler-config.js';
import type { FormatterName } from './record.js';
import { SmtpHandler } from './smtp-handler.js';
import { StreamHandler, streamTarget } from './stream-handler.js';
import { SyslogHandler } from './syslog-handler.js';

export interface FactoryOptions {
  /** Clock for file rotation (tests). */
  now?: () => number;
  /** Where "ext://sys.stdout" / "ext://sys.stderr" write (tests). */
  streams?: { stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream };
  timeoutMs?: number;
}

export type HandlerFactory = (type: HandlerType, config: HandlerConfig) => Promise<LogHandler>;

const pair = (v: unknown): string | [string, number] => (typeof v === 'string' ? v : [String((v as unknown[])[0]), Number((v as unknown[])[1])]);

export function handlerFactory(opts: FactoryOptions = {}): HandlerFactory {
  return async (type, config) => {
    const level = config.level as number;
    const formatter = config.formatter as FormatterName;
    switch (type) {
      case 'stream': {
        const target = String(config.stream);
        const out = /stderr$/.test(target) ? (opts.streams?.stderr ?? streamTarget(target)) : (opts.streams?.stdout ?? streamTarget(target));
        return new StreamHandler(level, formatter, out);
      }
      case 'file':
        return FileHandler.open({
          level,
          formatter,
          filename: String(config.filename),
          when: String(config.when),
          interval: Number(config.interval ?? 1),
          backupCount: Number(config.backupCount),
          now: opts.now,
        });
      case 'smtp':
        return SmtpHandler.open({
          level,
          formatter,
          mailhost: pair(config.mailhost),
          fromaddr: String(config.fromaddr),
          toaddrs: (config.toaddrs as unknown[]).map(String),
          subject: String(config.subject ?? ''),
          secure: config.secure === true,
          mailsPerMinute: Number(config.mailsPerMinute ?? 10),
          timeoutMs: opts.timeoutMs,
        });
      case 'syslog': {
        const facility = typeof config.facility === 'number' ? config.facility : (FACILITIES[String(config.facility ?? 'user').toLowerCase()] ?? 1);
        return SyslogHandler.open({
          level,
          formatter,
          address: pair(config.address),
          socktype: config.socktype === SOCK_STREAM ? 'stream' : 'dgram',
          facility,
          appname: typeof config.appname === 'string' ? config.appname : undefined,
          timeoutMs: opts.timeoutMs,
        });
      }
    }
  };
}
