// The `userjobs` section of config.json, parsed on its own (pure), so it works
// whether or not the central schema declares the section yet.
import { Value } from 'typebox/value';

export { UserjobsConfigSchema, type UserjobsSettings } from '../config/userjobs-schema.js';
import { UserjobsConfigSchema, type UserjobsSettings } from '../config/userjobs-schema.js';

/** Settings from the whole config object (its `userjobs` key), or a list of problems. */
export function readUserjobsSettings(config: unknown): { settings: UserjobsSettings } | { problems: string[] } {
  const raw = config && typeof config === 'object' ? (config as { userjobs?: unknown }).userjobs : undefined;
  const value = Value.Default(UserjobsConfigSchema, structuredClone(raw ?? {}));
  const problems = [...Value.Errors(UserjobsConfigSchema, value)].map(
    (e) => `userjobs${e.instancePath.replaceAll('/', '.')}: ${e.message}`,
  );
  const settings = value as UserjobsSettings;
  if (problems.length === 0 && settings.port_range[0] > settings.port_range[1]) {
    problems.push('userjobs.port_range: the first port must not be above the second');
  }
  return problems.length ? { problems } : { settings };
}

/** `Host tunnel_<system>` entries of an SSH client config (patterns with wildcards are skipped). */
export function systemsFromSshConfig(text: string): string[] {
  const systems = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*Host\s+(.+?)\s*$/i.exec(line);
    if (!match?.[1]) continue;
    for (const pattern of match[1].split(/\s+/)) {
      const m = /^tunnel_([A-Za-z0-9][A-Za-z0-9_.-]{0,62})$/.exec(pattern);
      if (m?.[1]) systems.add(m[1]);
    }
  }
  return [...systems];
}
