// The configuration of the four handler types of /api/logs/handler/: per-type
// defaults, merging and validation (pure, no I/O). Messages name the field, as
// the original did: "filename in configuration must be of type str".
import { SUPPORTED_LEVELS } from './levels.js';
import { FORMATTERS } from './record.js';

export const HANDLER_TYPES = ['stream', 'file', 'smtp', 'syslog'] as const;
export type HandlerType = (typeof HANDLER_TYPES)[number];
export type HandlerConfig = Record<string, unknown>;
/** Configured handlers keyed by type, as GET /api/logs/handler/ shows them. */
export type HandlerConfigs = Partial<Record<HandlerType, HandlerConfig>>;

export function isHandlerType(value: unknown): value is HandlerType {
  return typeof value === 'string' && (HANDLER_TYPES as readonly string[]).includes(value);
}

export const STREAM_TARGETS = ['ext://sys.stdout', 'ext://sys.stderr'] as const;
export const SOCK_DGRAM = 'ext://socket.SOCK_DGRAM';
export const SOCK_STREAM = 'ext://socket.SOCK_STREAM';
export const WHEN_VALUES = ['S', 'M', 'H', 'D', 'MIDNIGHT', 'W0', 'W1', 'W2', 'W3', 'W4', 'W5', 'W6'] as const;
/** Syslog facilities by name (RFC 5424 table 1). */
export const FACILITIES: Readonly<Record<string, number>> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9,
  authpriv: 10, ftp: 11, local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
};

export const HANDLER_DEFAULTS: Readonly<Record<HandlerType, Readonly<HandlerConfig>>> = {
  stream: { formatter: 'simple', level: 10, stream: 'ext://sys.stdout' },
  file: { formatter: 'simple', level: 10, filename: '/tmp/file.log', when: 'midnight', interval: 1, backupCount: 7 },
  smtp: {
    formatter: 'simple',
    level: 40,
    mailhost: ['localhost', 25],
    fromaddr: 'k8smgr@localhost',
    toaddrs: [],
    subject: 'K8s Manager log',
    secure: false,
    mailsPerMinute: 10,
  },
  syslog: { formatter: 'simple', level: 20, address: ['localhost', 514], socktype: SOCK_DGRAM, facility: 'user' },
};

/** What the manager logs to when no logging ConfigMap exists yet. */
export const DEFAULT_HANDLERS: HandlerConfigs = {
  stream: { formatter: 'simple', level: 20, stream: 'ext://sys.stdout' },
};

type Check = (value: unknown, key: string) => string | undefined;

const str: Check = (v, k) => (typeof v === 'string' ? undefined : `${k} in configuration must be of type str`);
const int: Check = (v, k) => (Number.isInteger(v) ? undefined : `${k} in configuration must be of type int`);
const bool: Check = (v, k) => (typeof v === 'boolean' ? undefined : `${k} in configuration must be of type bool`);
const nonEmptyStr: Check = (v, k) => str(v, k) ?? ((v as string).trim() === '' ? `${k} in configuration must not be empty` : undefined);
const port = (v: unknown): boolean => Number.isInteger(v) && (v as number) > 0 && (v as number) < 65536;

const common: Record<string, Check> = {
  formatter: (v, k) =>
    str(v, k) ?? (FORMATTERS.includes(v as never) ? undefined : `Unsupported formatter: ${String(v)}. Supported formatters: ${FORMATTERS.join(', ')}`),
  level: (v, k) =>
    int(v, k) ?? (SUPPORTED_LEVELS.includes(v as number) ? undefined : `Unsupported level: ${String(v)}. Supported levels: ${SUPPORTED_LEVELS.join(', ')}`),
};

const CHECKS: Record<HandlerType, Record<string, Check>> = {
  stream: {
    ...common,
    stream: (v, k) => str(v, k) ?? (STREAM_TARGETS.includes(v as never) ? undefined : `Unsupported stream: ${String(v)}. Supported streams: ${STREAM_TARGETS.join(', ')}`),
  },
  file: {
    ...common,
    filename: nonEmptyStr,
    when: (v, k) =>
      str(v, k) ?? (WHEN_VALUES.includes((v as string).toUpperCase() as never) ? undefined : `Unsupported when: ${String(v)}. Supported values: S, M, H, D, midnight, W0-W6`),
    interval: (v, k) => int(v, k) ?? ((v as number) >= 1 ? undefined : `${k} in configuration must be at least 1`),
    backupCount: (v, k) => int(v, k) ?? ((v as number) >= 0 ? undefined : `${k} in configuration must not be negative`),
  },
  smtp: {
    ...common,
    mailhost: (v, k) => {
      if (typeof v === 'string') return v.trim() === '' ? `${k} in configuration must not be empty` : undefined;
      if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && v[0] !== '' && port(v[1])) return undefined;
      return `${k} in configuration must be of type str or [str, int]`;
    },
    fromaddr: nonEmptyStr,
    toaddrs: (v, k) => {
      if (!Array.isArray(v) || !v.every((a) => typeof a === 'string' && a.trim() !== '')) return `${k} in configuration must be of type list of str`;
      return v.length === 0 ? `${k} in configuration must not be empty` : undefined;
    },
    subject: str,
    secure: bool,
    mailsPerMinute: (v, k) => int(v, k) ?? ((v as number) >= 1 ? undefined : `${k} in configuration must be at least 1`),
  },
  syslog: {
    ...common,
    address: (v, k) => {
      if (typeof v === 'string') return v.trim() === '' ? `${k} in configuration must not be empty` : undefined;
      if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && v[0] !== '' && port(v[1])) return undefined;
      return `${k} in configuration must be of type str (a Unix socket path) or [str, int]`;
    },
    socktype: (v, k) => str(v, k) ?? ([SOCK_DGRAM, SOCK_STREAM].includes(v as string) ? undefined : `Unsupported socktype: ${String(v)}. Supported socktypes: ${SOCK_DGRAM}, ${SOCK_STREAM}`),
    facility: (v, k) => {
      if (typeof v === 'string') return v.toLowerCase() in FACILITIES ? undefined : `Unsupported facility: ${v}. Supported facilities: ${Object.keys(FACILITIES).join(', ')}`;
      if (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 23) return undefined;
      return `${k} in configuration must be of type str or int`;
    },
    appname: nonEmptyStr,
  },
};

export type Validated = { ok: true; config: HandlerConfig } | { ok: false; errors: string[] };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks `config` (already merged over the defaults) for handler `type`. */
export function validate(type: HandlerType, config: unknown): Validated {
  if (!isObject(config)) return { ok: false, errors: ['configuration must be of type dict'] };
  const checks = CHECKS[type];
  const errors: string[] = [];
  for (const [key, value] of Object.entries(config)) {
    const check = checks[key];
    if (!check) errors.push(`Unsupported key in configuration: ${key}. Supported keys for ${type}: ${Object.keys(checks).join(', ')}`);
    else {
      const problem = check(value, key);
      if (problem) errors.push(problem);
    }
  }
  return errors.length ? { ok: false, errors } : { ok: true, config: normalize(type, config) };
}

function normalize(type: HandlerType, config: HandlerConfig): HandlerConfig {
  // `when` is case-insensitive as in Python; keep what the admin wrote otherwise.
  return type === 'file' && typeof config.when === 'string' && config.when.toUpperCase() === 'MIDNIGHT' ? { ...config, when: 'midnight' } : { ...config };
}

/** Merges `partial` over `base` (top-level keys; lists and [host, port] pairs are replaced whole). */
export function merge(base: Readonly<HandlerConfig>, partial: unknown): HandlerConfig | undefined {
  if (!isObject(partial)) return undefined;
  return { ...base, ...partial };
}

/** Defaults ∪ configuration, validated: what POST and PUT store. */
export function withDefaults(type: HandlerType, configuration: unknown): Validated {
  if (configuration === undefined || configuration === null) return validate(type, { ...HANDLER_DEFAULTS[type] });
  const merged = merge(HANDLER_DEFAULTS[type], configuration);
  return merged ? validate(type, merged) : { ok: false, errors: ['configuration must be of type dict'] };
}
