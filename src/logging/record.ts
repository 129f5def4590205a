// A log record as the handlers see it, and the two formatters of the API.
import { levelLabel } from './levels.js';

export interface LogRecord {
  level: number;
  time: number;
  msg: string;
  [key: string]: unknown;
}

export type FormatterName = 'simple' | 'json';
export const FORMATTERS: readonly FormatterName[] = ['simple', 'json'];

/**
 * Keys that the logger and the formatters own. A log call's own key of that name
 * (e.g. `{ level: 'x' }`) is kept as `extra_<key>` instead of breaking the record
 * (see logger.ts).
 */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'levelname']);

const SKIP_IN_SIMPLE = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

function flat(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  return JSON.stringify(value) ?? String(value);
}

/** `2026-11-28T04:00:00.000Z INFO message key=value ...`: one line, greppable. */
export function formatSimple(record: LogRecord): string {
  const extras: string[] = [];
  for (const [key, value] of Object.entries(record)) {
    if (!SKIP_IN_SIMPLE.has(key) && value !== undefined) extras.push(`${key}=${flat(value)}`);
  }
  const head = `${new Date(record.time).toISOString()} ${levelLabel(record.level)} ${record.msg ?? ''}`;
  return extras.length ? `${head} ${extras.join(' ')}` : head;
}

export function formatJson(record: LogRecord): string {
  return JSON.stringify({ ...record, levelname: levelLabel(record.level), time: new Date(record.time).toISOString() });
}

export function format(name: FormatterName, record: LogRecord): string {
  return name === 'json' ? formatJson(record) : formatSimple(record);
}
