// The manager's logger: pino with the original's levels, secret masking on every
// record, and a LogHub as its only destination.
import { pino, type Logger } from 'pino';
import { LEVELS } from './levels.js';
import { LogHub } from './hub.js';
import { redact, redactText } from './redact.js';

export type AppLogger = Logger<keyof typeof LEVELS>;

export function createLogger(hub: LogHub, bindings: Record<string, unknown> = {}): AppLogger {
  return pino(
    {
      base: bindings,
      level: 'trace',
      customLevels: { ...LEVELS },
      useOnlyCustomLevels: true,
      messageKey: 'msg',
      formatters: {
        log: (object) => redact(object) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          // Mask credentials inside free-text messages too (e.g. an echoed header).
          const masked = args.map((a) => (typeof a === 'string' ? redactText(a) : a)) as typeof args;
          method.apply(this, masked);
        },
      },
    },
    { write: (line: string) => hub.write(line) },
  ) as AppLogger;
}
