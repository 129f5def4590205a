// The manager's logger: pino with the original's levels, secret masking on every
// record, and a LogHub as its only destination.
import { pino, type Logger } from 'pino';
import { LEVELS } from './levels.js';
import { LogHub } from './hub.js';
import { RESERVED_KEYS } from './record.js';
import { redact, redactText } from './redact.js';

export type AppLogger = Logger<keyof typeof LEVELS>;

/** A call's own keys that clash with the record's (level, time, msg, ...) become `extra_<key>`. */
function liftClashes(object: Record<string, unknown>, hasMessage: boolean): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(object)) {
    if (!RESERVED_KEYS.has(key) || (key === 'msg' && !hasMessage)) continue;
    out ??= { ...object };
    out[`extra_${key}`] = out[key];
    delete out[key];
  }
  return out ?? object;
}

export function createLogger(hub: LogHub, bindings: Record<string, unknown> = {}): AppLogger {
  return pino(
    {
      base: bindings,
      level: 'trace',
      // warn and fatal: the names Fastify (and other libraries) call; same numbers as warning and critical.
      customLevels: { ...LEVELS, warn: LEVELS.warning, fatal: LEVELS.critical },
      useOnlyCustomLevels: true,
      messageKey: 'msg',
      formatters: {
        log: (object) => redact(object) as Record<string, unknown>,
      },
      // redact() has already turned errors into plain, masked objects.
      serializers: { err: (value: unknown) => value },
      hooks: {
        logMethod(args, method) {
          const masked = args.map((a) => (typeof a === 'string' ? redactText(a) : a)) as unknown[];
          const first = masked[0];
          if (first !== null && typeof first === 'object' && !(first instanceof Error) && !Array.isArray(first)) {
            masked[0] = liftClashes(first as Record<string, unknown>, typeof masked[1] === 'string');
          }
          method.apply(this, masked as typeof args);
        },
      },
    },
    { write: (line: string) => hub.write(line) },
  ) as AppLogger;
}
