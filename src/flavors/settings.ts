// The `flavors` section of config.json (per credential: named resource classes
// with capacity, per-user and runtime limits, and per-user overrides), its
// checks beyond the schema, and durations. Pure.
//
// Defaults are applied here (see `flavorView`), not by the schema: TypeBox does
// not fill defaults inside records reliably, and an absent key must stay
// distinguishable from a set one for the user overrides.
import { Type, type Static } from 'typebox';

/** Flavor names: they appear in templates, annotations, labels of metrics and the hub's form. */
export const FLAVOR_NAME_PATTERN = '^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$';
export const FLAVOR_NAME_RE = new RegExp(FLAVOR_NAME_PATTERN);

/** -1 unlimited, 0 closed, n at most n. */
const Limit = (description: string) => Type.Integer({ minimum: -1, description });

const Quantity = Type.Union([Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9A-Za-z.+-]+$' }), Type.Number({ minimum: 0 })]);
const ResourceList = Type.Record(Type.String({ pattern: '^([a-z0-9.-]+/)?[A-Za-z0-9._-]+$' }), Quantity, { additionalProperties: false });

export const ResourcesSchema = Type.Object(
  { requests: Type.Optional(ResourceList), limits: Type.Optional(ResourceList) },
  { additionalProperties: false, description: 'requests/limits set on the main container' },
);

/** Seconds (0: no limit) or parts that add up. */
export const RuntimeSchema = Type.Union([
  Type.Integer({ minimum: 0 }),
  Type.Object(
    {
      days: Type.Optional(Type.Number({ minimum: 0 })),
      hours: Type.Optional(Type.Number({ minimum: 0 })),
      minutes: Type.Optional(Type.Number({ minimum: 0 })),
      seconds: Type.Optional(Type.Number({ minimum: 0 })),
    },
    { additionalProperties: false },
  ),
]);

export const FlavorSchema = Type.Object(
  {
    max: Type.Optional(Limit('services of this flavor running at once over all users (default -1)')),
    max_per_user: Type.Optional(Limit('services of this flavor one user may run (default -1)')),
    runtime: Type.Optional(RuntimeSchema),
    display_name: Type.Optional(Type.String({ maxLength: 200 })),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    weight: Type.Optional(Type.Number()),
    resources: Type.Optional(ResourcesSchema),
  },
  { additionalProperties: false },
);

const FlavorOverrideSchema = Type.Object(
  {
    max_per_user: Type.Optional(Limit('this user\'s maximum of this flavor')),
    runtime: Type.Optional(RuntimeSchema),
    resources: Type.Optional(ResourcesSchema),
  },
  { additionalProperties: false },
);

const FlavorName = Type.String({ pattern: FLAVOR_NAME_PATTERN });

export const UserOverrideSchema = Type.Object(
  {
    default: Type.Optional(FlavorName),
    max_per_user: Type.Optional(Limit('this user\'s maximum over all flavors')),
    flavors: Type.Optional(Type.Record(FlavorName, FlavorOverrideSchema, { additionalProperties: false })),
  },
  { additionalProperties: false },
);

export const CredentialFlavorsSchema = Type.Object(
  {
    default: Type.Optional(FlavorName),
    max_per_user: Type.Optional(Limit('services one user may run over all flavors (default -1)')),
    undefined_max: Type.Optional(Limit('max for a flavor name that is not defined (default 0: an unknown flavor is refused with 400)')),
    flavors: Type.Optional(Type.Record(FlavorName, FlavorSchema, { additionalProperties: false })),
    users: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 200 }), UserOverrideSchema)),
  },
  { additionalProperties: false },
);

/** config.json `flavors`: credential → its flavors. */
export const FlavorsConfigSchema = Type.Record(Type.String(), CredentialFlavorsSchema, { default: {} });

export type FlavorsConfig = Static<typeof FlavorsConfigSchema>;
export type CredentialFlavors = Static<typeof CredentialFlavorsSchema>;
export type FlavorConfig = Static<typeof FlavorSchema>;
export type UserOverride = Static<typeof UserOverrideSchema>;
export type Runtime = Static<typeof RuntimeSchema>;
export type Resources = Static<typeof ResourcesSchema>;

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
