// Which flavor a start gets and which limits hold for its user: the
// credential's flavors with the matching user overrides applied. Pure.
import { invalidInput } from '../errors.js';
import {
  FLAVOR_NAME_RE, formatDuration, matchesPattern, patternKind, runtimeSeconds,
  type CredentialFlavors, type Resources, type Runtime, type UserOverride,
} from './settings.js';

/** The user a start or a question is about: the hub's user id, and its name when known (env JUPYTERHUB_USER). */
export interface UserRef {
  id: string;
  name?: string | undefined;
}

export interface EffectiveFlavor {
  name: string;
  /** false: a name the config does not define, admitted under `undefined_max`. */
  defined: boolean;
  displayName: string;
  description: string;
  weight: number;
  /** Services of this flavor at once, over all users: -1 unlimited, 0 closed. */
  max: number;
  /** Services of this flavor one user may run (this user's, with overrides). */
  maxPerUser: number;
  /** 0: no runtime limit. */
  runtimeSeconds: number;
  /** The runtime as configured (for the hub: Outpost sends it so). */
  runtime: Runtime | undefined;
  resources: Resources | undefined;
}

export interface EffectiveFlavors {
  default: string | undefined;
  /** Services one user may run over all flavors: -1 unlimited. */
  maxPerUser: number;
  undefinedMax: number;
  /** The defined flavors, by name. */
  flavors: Map<string, EffectiveFlavor>;
}

/**
 * The overrides that match `user`, least specific first (so a later one wins
 * field by field): patterns (globs and /regex/, shorter ones first), then an
 * exact name, then an exact user id.
 */
export function matchingOverrides(users: CredentialFlavors['users'], user: UserRef | undefined): UserOverride[] {
  if (!user || !users) return [];
  const ranked: Array<{ rank: number; literal: number; key: string; override: UserOverride }> = [];
  for (const [pattern, override] of Object.entries(users)) {
    const kind = patternKind(pattern);
    if (kind === 'exact') {
      if (pattern === user.id) ranked.push({ rank: 2, literal: pattern.length, key: pattern, override });
      else if (user.name !== undefined && pattern === user.name) ranked.push({ rank: 1, literal: pattern.length, key: pattern, override });
      continue;
    }
    if (matchesPattern(pattern, user.id) || (user.name !== undefined && matchesPattern(pattern, user.name))) {
      ranked.push({ rank: 0, literal: pattern.replace(/[*?]/g, '').length, key: pattern, override });
    }
  }
  ranked.sort((a, b) => a.rank - b.rank || a.literal - b.literal || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return ranked.map((r) => r.override);
}

function mergeResources(base: Resources | undefined, over: Resources | undefined): Resources | undefined {
  if (!over) return base;
  const out: Resources = {};
  for (const list of ['requests', 'limits'] as const) {
    const merged = { ...base?.[list], ...over[list] };
    if (Object.keys(merged).length) out[list] = merged;
  }
  return out;
}

/** The credential's flavors as they hold for `user` (or for nobody in particular). */
export function effectiveFlavors(cred: CredentialFlavors, user?: UserRef): EffectiveFlavors {
  const overrides = matchingOverrides(cred.users, user);
  let defaultName = cred.default;
  let maxPerUser = cred.max_per_user ?? -1;
  const flavors = new Map<string, EffectiveFlavor>();
  for (const [name, f] of Object.entries(cred.flavors ?? {})) {
    flavors.set(name, {
      name,
      defined: true,
      displayName: f.display_name ?? name,
      description: f.description ?? '',
      weight: f.weight ?? 0,
      max: f.max ?? -1,
      maxPerUser: f.max_per_user ?? -1,
      runtimeSeconds: runtimeSeconds(f.runtime),
      runtime: f.runtime,
      resources: f.resources,
    });
  }
  for (const o of overrides) {
    if (o.default !== undefined) defaultName = o.default;
    if (o.max_per_user !== undefined) maxPerUser = o.max_per_user;
    for (const [name, fo] of Object.entries(o.flavors ?? {})) {
      const f = flavors.get(name);
      if (!f) continue;
      if (fo.max_per_user !== undefined) f.maxPerUser = fo.max_per_user;
      if (fo.runtime !== undefined) {
        f.runtime = fo.runtime;
        f.runtimeSeconds = runtimeSeconds(fo.runtime);
      }
      f.resources = mergeResources(f.resources, fo.resources);
    }
  }
  return { default: defaultName, maxPerUser, undefinedMax: cred.undefined_max ?? 0, flavors };
}

/** A flavor by name: a defined one, or (when `undefined_max` is not 0) an undefined one with that max. */
export function flavorNamed(effective: EffectiveFlavors, name: string): EffectiveFlavor | undefined {
  const defined = effective.flavors.get(name);
  if (defined) return defined;
  if (effective.undefinedMax === 0 || !FLAVOR_NAME_RE.test(name)) return undefined;
  return {
    name, defined: false, displayName: name, description: '', weight: 0,
    max: effective.undefinedMax, maxPerUser: -1, runtimeSeconds: 0, runtime: undefined, resources: undefined,
  };
}

/**
 * The flavor of a start: `user_options.flavor`, else the (user's) default.
 * Throws invalid_input (400) for a missing, malformed or unknown flavor.
 */
export function resolveFlavor(effective: EffectiveFlavors, userOptions: Record<string, unknown>): EffectiveFlavor {
  const asked = userOptions.flavor;
  let name: string;
  if (asked === undefined || asked === null || asked === '') {
    if (effective.default === undefined) throw invalidInput('Missing key in input data: user_options.flavor');
    name = effective.default;
  } else if (typeof asked !== 'string' || !FLAVOR_NAME_RE.test(asked)) {
    throw invalidInput(`user_options.flavor must be a flavor name (letters, digits, ".", "_", "-"), got ${JSON.stringify(asked).slice(0, 80)}`);
  } else {
    name = asked;
  }
  const flavor = flavorNamed(effective, name);
  if (!flavor) {
    const known = [...effective.flavors.keys()].sort();
    throw invalidInput(`Unknown flavor "${name}". Available flavors: ${known.join(', ') || 'none'}`);
  }
  return flavor;
}

/** The deadline of a start and the reason shown when it is reached, or undefined without a runtime limit. */
export function runtimeDeadline(flavor: Pick<EffectiveFlavor, 'runtimeSeconds'>, now: Date): { stopAt: string; reason: string } | undefined {
  if (flavor.runtimeSeconds <= 0) return undefined;
  return {
    stopAt: new Date(now.getTime() + flavor.runtimeSeconds * 1000).toISOString(),
    reason: `Runtime limit of ${formatDuration(flavor.runtimeSeconds)} reached`,
  };
}
