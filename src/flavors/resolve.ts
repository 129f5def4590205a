// Which flavor a start gets and which limits hold for its user: the
// credential's flavors with the matching user overrides applied. Pure.
import { DomainError } from '../errors.js';
import type { FlavorRefusal } from './capacity.js';
import {
  FLAVOR_NAME_RE, formatDuration, matchesPattern, patternKind, runtimeSeconds,
  type CredentialFlavors, type FlavorPatch, type Resources, type Runtime, type UserOverride,
} from './settings.js';
import { selectRule, type Authentication } from './rules.js';

/**
 * The user a start or a question is about: the hub's user id, its name when known
 * (env JUPYTERHUB_USER), and the identity the hub describes for rules (OutpostSpawner's
 * `authentication`: name, groups, ...).
 */
export interface UserRef {
  id: string;
  name?: string | undefined;
  authentication?: Authentication | undefined;
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
  /** The defined flavors this user has, by name. */
  flavors: Map<string, EffectiveFlavor>;
  /** The rule that decided them (its name, or `rules[i]`), when one held. */
  rule?: string;
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

/** A flavor with some of its settings changed (an offer's, a rule's). */
function patched(f: EffectiveFlavor, p: FlavorPatch | undefined): EffectiveFlavor {
  if (!p) return f;
  return {
    ...f,
    ...(p.max !== undefined ? { max: p.max } : {}),
    ...(p.max_per_user !== undefined ? { maxPerUser: p.max_per_user } : {}),
    ...(p.runtime !== undefined ? { runtime: p.runtime, runtimeSeconds: runtimeSeconds(p.runtime) } : {}),
    ...(p.display_name !== undefined ? { displayName: p.display_name } : {}),
    ...(p.description !== undefined ? { description: p.description } : {}),
    ...(p.weight !== undefined ? { weight: p.weight } : {}),
    ...(p.resources !== undefined ? { resources: mergeResources(f.resources, p.resources) } : {}),
  };
}

/** The flavors of `from` named in `names` (all when absent), each with its patch. */
function narrowed(from: ReadonlyMap<string, EffectiveFlavor>, names: readonly string[] | undefined, patches: Record<string, FlavorPatch> | undefined): Map<string, EffectiveFlavor> {
  const out = new Map<string, EffectiveFlavor>();
  for (const [name, f] of from) if (!names || names.includes(name)) out.set(name, patched(f, patches?.[name]));
  return out;
}

/**
 * Which flavors the user has before the per-user overrides: the credential's offer
 * (its list and its changes), or what the user's rule chooses from all the
 * credential's flavors, with the offer's changes (ours) or as defined (an Outpost's).
 */
function offeredTo(cred: CredentialFlavors, defined: ReadonlyMap<string, EffectiveFlavor>, user: UserRef | undefined): { flavors: Map<string, EffectiveFlavor>; rule: string | undefined } {
  const chosen = selectRule(cred.rules, user?.authentication);
  if (!chosen) return { flavors: narrowed(defined, cred.offer?.flavors, cred.offer?.overrides), rule: undefined };
  const { rule, index } = chosen;
  const label = rule.name ?? `rules[${index}]`;
  if (rule.forbidden) return { flavors: new Map(), rule: label };
  const from = cred.rules_start_from === 'all' ? defined : narrowed(defined, undefined, cred.offer?.overrides);
  return { flavors: narrowed(from, rule.flavors, rule.overrides), rule: label };
}

/** The credential's flavors as they hold for `user` (or for nobody in particular). */
export function effectiveFlavors(cred: CredentialFlavors, user?: UserRef): EffectiveFlavors {
  const overrides = matchingOverrides(cred.users, user);
  let defaultName = cred.default;
  let maxPerUser = cred.max_per_user ?? -1;
  const defined = new Map<string, EffectiveFlavor>();
  for (const [name, f] of Object.entries(cred.flavors ?? {})) {
    defined.set(name, {
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
  const { flavors, rule } = offeredTo(cred, defined, user);
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
  // A default the user does not have is no default; a user's rule admits no undefined names.
  return {
    default: defaultName !== undefined && (flavors.has(defaultName) || (!defined.has(defaultName) && rule === undefined)) ? defaultName : undefined,
    maxPerUser,
    undefinedMax: rule === undefined ? cred.undefined_max ?? 0 : 0,
    flavors,
    ...(rule !== undefined ? { rule } : {}),
  };
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
export function resolveFlavor(effective: EffectiveFlavors, userOptions: Record<string, unknown>, defined?: ReadonlySet<string>): EffectiveFlavor {
  const asked = userOptions.flavor;
  const allowed = [...effective.flavors.keys()].sort();
  const refused = (message: string, flavor: string | null) => new DomainError('invalid_input', message, { facts: { flavorRefusal: { kind: 'not_allowed', flavor, allowed } satisfies FlavorRefusal } });
  let name: string;
  if (asked === undefined || asked === null || asked === '') {
    if (effective.default === undefined) throw refused('Missing key in input data: user_options.flavor', null);
    name = effective.default;
  } else if (typeof asked !== 'string' || !FLAVOR_NAME_RE.test(asked)) {
    throw refused(`user_options.flavor must be a flavor name (letters, digits, ".", "_", "-"), got ${JSON.stringify(asked).slice(0, 80)}`, String(asked).slice(0, 80));
  } else {
    name = asked;
  }
  const flavor = flavorNamed(effective, name);
  if (!flavor) {
    // A flavor of the credential that this user may not use (the offer, a rule) is named as such.
    if (defined?.has(name)) throw refused(`Flavor "${name}" is not available to you. Available flavors: ${allowed.join(', ') || 'none'}`, name);
    throw refused(`Unknown flavor "${name}". Available flavors: ${allowed.join(', ') || 'none'}`, name);
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
