// The Outpost face's settings per hub credential: the `outpost` section of
// config.json with each credential's entry laid over the defaults, and the
// checks a schema cannot say. Pure.
import type { OutpostConfig, OutpostCredentialConfig } from '../config/outpost-schema.js';
import { KEYWORDS } from '../templates/index.js';

export { OutpostConfigSchema, type OutpostConfig, type OutpostCredentialConfig } from '../config/outpost-schema.js';

/** The user option that names the template when `service` is absent, unless configured. */
export const DEFAULT_OPTION_KEY = 'profile';

export interface CredentialSettings {
  optionKey: string;
  options: Readonly<Record<string, string>> | undefined;
  defaultService: string | undefined;
  /** Allowed `misc` overrides and their values when the hub sends none. */
  miscKeywords: Readonly<Record<string, string>>;
}

/** One credential's settings: its entry over `defaults`, key by key. */
export function credentialSettings(cfg: OutpostConfig, credential: string): CredentialSettings {
  const merged: OutpostCredentialConfig = { ...cfg.defaults, ...cfg.credentials[credential] };
  return {
    optionKey: merged.option_key ?? DEFAULT_OPTION_KEY,
    options: merged.options,
    defaultService: merged.default_service,
    miscKeywords: Object.fromEntries(Object.entries(merged.misc_keywords ?? {}).map(([k, v]) => [k, String(v)])),
  };
}

/** Keys the spawner sends in `misc` on every start (OutpostSpawner's defaults): always accepted. */
export const SPAWNER_MISC_KEYS: ReadonlySet<string> = new Set(['dns_name_template', 'pod_name_template', 'internal_ssl', 'port', 'ip', 'services_enabled', 'extra_labels']);

/** The template keyword every Outpost start gets: the port the hub expects the server at. */
export const PORT_KEYWORD = 'port';

/** Problems of the `outpost` section that the schema cannot see (logged at load, like the flavors'). */
export function outpostProblems(cfg: OutpostConfig, keywordNames: readonly string[] = KEYWORDS): string[] {
  const problems: string[] = [];
  const reserved = new Set([...keywordNames, PORT_KEYWORD]);
  const entries: Array<[string, OutpostCredentialConfig | undefined]> = [['outpost.defaults', cfg.defaults], ...Object.entries(cfg.credentials).map(([c, v]): [string, OutpostCredentialConfig] => [`outpost.credentials.${c}`, v])];
  for (const [where, entry] of entries) {
    for (const key of Object.keys(entry?.misc_keywords ?? {})) {
      if (reserved.has(key)) problems.push(`${where}.misc_keywords.${key}: "${key}" is a keyword of every template and cannot be overridden by a hub`);
      else if (SPAWNER_MISC_KEYS.has(key)) problems.push(`${where}.misc_keywords.${key}: "${key}" is one of the spawner's own misc keys`);
    }
    for (const [value, service] of Object.entries(entry?.options ?? {})) {
      if (!/^[^/]+\/[^/]+$/.test(service)) problems.push(`${where}.options.${value}: "${service}" is not "<type>/<option>"`);
    }
    if (entry?.default_service !== undefined && !/^[^/]+\/[^/]+$/.test(entry.default_service)) {
      problems.push(`${where}.default_service: "${entry.default_service}" is not "<type>/<option>"`);
    }
  }
  return problems;
}
