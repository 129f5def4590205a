// The `flavors` section of config.json (per credential: named resource classes
// with capacity, per-user and runtime limits, and per-user overrides), its
// checks beyond the schema, and durations. Pure.
//
// Defaults are applied here (see `flavorView`), not by the schema: TypeBox does
// not fill defaults inside records reliably, and an absent key must stay
// distinguishable from a set one for the user overrides.
export {
  FLAVOR_NAME_PATTERN, FLAVOR_NAME_RE, ResourcesSchema, RuntimeSchema, FlavorSchema, UserOverrideSchema, CredentialFlavorsSchema, FlavorsConfigSchema,
  FlavorPatchSchema, FlavorRuleSchema, MatchValueSchema,
  type FlavorsConfig, type CredentialFlavors, type FlavorConfig, type UserOverride, type Runtime, type Resources,
  type FlavorPatch, type FlavorRule, type MatchValue,
} from '../config/flavors-schema.js';
import type { FlavorsConfig, Runtime } from '../config/flavors-schema.js';

/** What the schema cannot say: references between keys. Empty when consistent. */
export function flavorProblems(section: FlavorsConfig | undefined): string[] {
  const problems: string[] = [];
  for (const [credential, cred] of Object.entries(section ?? {})) {
    const at = `flavors.${credential}`;
    const defined = new Set(Object.keys(cred.flavors ?? {}));
    const undefinedAllowed = (cred.undefined_max ?? 0) !== 0;
    if (cred.default !== undefined && !defined.has(cred.default) && !undefinedAllowed) {
      problems.push(`${at}.default: "${cred.default}" is not one of the flavors (${[...defined].join(', ') || 'none defined'})`);
    }
    for (const [pattern, override] of Object.entries(cred.users ?? {})) {
      if (patternError(pattern)) problems.push(`${at}.users.${pattern}: ${patternError(pattern)}`);
      if (override.default !== undefined && !defined.has(override.default) && !undefinedAllowed) {
        problems.push(`${at}.users.${pattern}.default: "${override.default}" is not one of the flavors`);
      }
      for (const name of Object.keys(override.flavors ?? {})) {
        if (!defined.has(name)) problems.push(`${at}.users.${pattern}.flavors.${name}: not one of the flavors`);
      }
    }
    const named = (where: string, names: Iterable<string>) => {
      for (const name of names) if (!defined.has(name)) problems.push(`${where}.${name}: not one of the flavors`);
    };
    named(`${at}.offer.flavors`, cred.offer?.flavors ?? []);
    named(`${at}.offer.overrides`, Object.keys(cred.offer?.overrides ?? {}));
    (cred.rules ?? []).forEach((rule, i) => {
      const where = `${at}.rules[${i}]${rule.name ? ` (${rule.name})` : ''}`;
      if (Object.keys(rule.match).length === 0) problems.push(`${where}.match: no key to match`);
      for (const [key, how] of Object.entries(rule.match)) {
        const pattern = typeof how === 'string' ? how : undefined;
        if (pattern && patternError(pattern)) problems.push(`${where}.match.${key}: ${patternError(pattern)}`);
      }
      named(`${where}.flavors`, rule.flavors ?? []);
      named(`${where}.overrides`, Object.keys(rule.overrides ?? {}));
    });
  }
  return problems;
}

/** Runtime in seconds; 0 (or nothing) is no limit. */
export function runtimeSeconds(runtime: Runtime | undefined): number {
  if (runtime === undefined) return 0;
  if (typeof runtime === 'number') return runtime;
  return Math.round((runtime.days ?? 0) * 86_400 + (runtime.hours ?? 0) * 3600 + (runtime.minutes ?? 0) * 60 + (runtime.seconds ?? 0));
}

/** "2 hours", "1 hour 30 minutes", "45 seconds". */
export function formatDuration(totalSeconds: number): string {
  let rest = Math.max(0, Math.round(totalSeconds));
  const parts: string[] = [];
  for (const [unit, size] of [['day', 86_400], ['hour', 3600], ['minute', 60], ['second', 1]] as const) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(`${n} ${unit}${n === 1 ? '' : 's'}`);
  }
  return parts.length ? parts.join(' ') : '0 seconds';
}

/**
 * A user pattern: the exact user id or name, a glob (`*` any run of
 * characters, `?` one character), or `/regex/` (matched against the whole id
 * or name).
 */
export function patternError(pattern: string): string | null {
  if (pattern.length > 2 && pattern.startsWith('/') && pattern.endsWith('/')) {
    try {
      new RegExp(pattern.slice(1, -1));
    } catch (err) {
      return `not a valid regular expression: ${(err as Error).message}`;
    }
  }
  return null;
}

export type PatternKind = 'exact' | 'glob' | 'regex';

export function patternKind(pattern: string): PatternKind {
  if (pattern.length > 2 && pattern.startsWith('/') && pattern.endsWith('/')) return 'regex';
  return /[*?]/.test(pattern) ? 'glob' : 'exact';
}

export function matchesPattern(pattern: string, value: string): boolean {
  switch (patternKind(pattern)) {
    case 'exact':
      return pattern === value;
    case 'glob': {
      const re = pattern.replace(/[.+^${}()|[\]\\/-]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.');
      return new RegExp(`^(?:${re})$`, 's').test(value);
    }
    case 'regex':
      try {
        return new RegExp(`^(?:${pattern.slice(1, -1)})$`).test(value);
      } catch {
        return false;
      }
  }
}
