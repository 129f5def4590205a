// Pure parsing of config.json text into a validated, frozen Config.
import { isAbsolute, resolve } from 'node:path';
import { Value } from 'typebox/value';
import { ConfigSchema, type Config } from './schema.js';

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface ParsedConfig {
  config: Config;
  /** Keys the manager does not know: kept for compatibility, but worth a warning. */
  unknownKeys: string[];
}

const KNOWN_GROUPS = new Set(['access_to_webservice', 'access_to_logging', 'access_to_admin']);

/** Turns "/services/status_information/pod_events_no" into "services.status_information.pod_events_no". */
function keyName(instancePath: string): string {
  return instancePath.replace(/^\//, '').replaceAll('/', '.') || '(top level)';
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

function collectUnknown(schema: unknown, value: unknown, path: string, out: string[]): void {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return;
  const props = (schema as { properties?: Record<string, unknown> }).properties;
  if (!props) return;
  for (const [key, inner] of Object.entries(value)) {
    const sub = props[key];
    if (sub === undefined) out.push(path ? `${path}.${key}` : key);
    else collectUnknown(sub, inner, path ? `${path}.${key}` : key, out);
  }
}

/** Folder keys: relative values are taken relative to the config file's folder. */
const PATH_KEYS = [
  ['services', 'base'],
  ['services', 'descriptions'],
  ['userhomes', 'base'],
  ['userhomes', 'skel'],
] as const;

function resolvePaths(config: Config, baseDir: string | undefined): void {
  if (!baseDir) return;
  for (const [section, key] of PATH_KEYS) {
    const holder = config[section] as Record<string, unknown>;
    const value = holder[key];
    if (typeof value === 'string' && !isAbsolute(value)) holder[key] = resolve(baseDir, value);
  }
}

export function parseConfig(text: string, source = 'config.json', baseDir?: string): ParsedConfig {
  let raw: unknown;
  try {
    raw = text.trim() === '' ? {} : JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${source} is not valid JSON: ${(err as Error).message}`, [(err as Error).message]);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(`${source} must hold a JSON object`, ['(top level): must be an object']);
  }
  const withDefaults = Value.Default(ConfigSchema, structuredClone(raw));
  const problems = [...Value.Errors(ConfigSchema, withDefaults)].map(
    (e) => `${keyName(e.instancePath)}: ${e.message}`,
  );
  const config = withDefaults as Config;
  if (problems.length === 0) {
    for (const [cred, groups] of Object.entries(config.startup.create_user)) {
      for (const g of groups) {
        if (!KNOWN_GROUPS.has(g)) problems.push(`startup.create_user.${cred}: unknown group "${g}"`);
      }
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(`${source} is invalid: ${problems.join('; ')}`, problems);
  }
  resolvePaths(config, baseDir);
  const unknownKeys: string[] = [];
  collectUnknown(ConfigSchema, raw, '', unknownKeys);
  return { config: deepFreeze(config), unknownKeys };
}

export const DEFAULT_CONFIG: Config = parseConfig('{}').config;
