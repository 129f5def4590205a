// A JupyterHub Outpost's flavors file (`flavors`, `hubs`, `users`) as the
// `flavors` section of config.json, for the hub credentials named: what
// `k8smgr flavors import` prints. By default the result behaves as the file did
// on the Outpost (the first matching `hubs` set; a matched user's rule starts
// from every flavor); `semantics: 'k8smgr'` takes ours (the heaviest matching
// set; a rule narrows what the credential offers). What cannot be expressed is
// refused, each problem named. Pure (text in, section out).
import { parse } from 'yaml';
import { Value } from 'typebox/value';
import { CredentialFlavorsSchema, FLAVOR_NAME_RE, type CredentialFlavors, type FlavorConfig, type FlavorPatch, type FlavorRule, type Resources, type Runtime } from './settings.js';
import { outpostMatch } from './rules.js';

export class ImportError extends Error {
  constructor(readonly problems: string[]) {
    super(`the flavors file cannot be imported:\n  ${problems.join('\n  ')}`);
    this.name = 'ImportError';
  }
}

export interface ImportOptions {
  /** The hub credentials (an Outpost's jupyterhub_name) to write a section for. */
  credentials: readonly string[];
  /** `outpost` (default): behave as on the Outpost; `k8smgr`: our choices (docs/flavors.md). */
  semantics?: 'outpost' | 'k8smgr';
  /** The Outpost's c.JupyterHubOutpost.global_max_per_user (not in the file): services per user over all flavors. */
  globalMaxPerUser?: number;
}

export interface ImportResult {
  flavors: Record<string, CredentialFlavors>;
  /** What was changed in form but not in meaning (told on stderr). */
  notes: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const FLAVOR_KEYS = ['max', 'maxPerUser', 'weight', 'display_name', 'description', 'runtime', 'resources'];
const TIMEDELTA_SECONDS: Record<string, number> = { weeks: 604_800, days: 86_400, hours: 3600, minutes: 60, seconds: 1, milliseconds: 0.001, microseconds: 0.000_001 };

/** timedelta(**runtime) as our runtime: days/hours/minutes/seconds as given, weeks and sub-seconds folded in. */
function runtimeOf(raw: unknown, at: string, problems: string[], notes: string[]): Runtime | undefined {
  if (!isObj(raw)) {
    problems.push(`${at}: a runtime is timedelta's keywords, e.g. {hours: 2}`);
    return undefined;
  }
  const out: { days?: number; hours?: number; minutes?: number; seconds?: number } = {};
  for (const [unit, value] of Object.entries(raw)) {
    if (!(unit in TIMEDELTA_SECONDS)) problems.push(`${at}.${unit}: not a timedelta keyword (${Object.keys(TIMEDELTA_SECONDS).join(', ')})`);
    else if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) problems.push(`${at}.${unit}: must be a number ≥ 0`);
    else if (unit === 'weeks') {
      out.days = (out.days ?? 0) + value * 7;
      notes.push(`${at}.weeks: ${value} week(s) written as ${value * 7} days`);
    } else if (unit === 'milliseconds' || unit === 'microseconds') {
      out.seconds = (out.seconds ?? 0) + value * (TIMEDELTA_SECONDS[unit] as number);
      notes.push(`${at}.${unit}: folded into seconds`);
    } else out[unit as 'days' | 'hours' | 'minutes' | 'seconds'] = (out[unit as 'days'] ?? 0) + value;
  }
  return out;
}

function resourcesOf(raw: unknown, at: string, problems: string[]): Resources | undefined {
  if (!isObj(raw) || Object.keys(raw).some((k) => k !== 'requests' && k !== 'limits')) {
    problems.push(`${at}: only {requests, limits} of the main container can be expressed here (other spawner settings belong in the template)`);
    return undefined;
  }
  return raw as Resources;
}

/** A flavor's keys (or an override's) in our names; unknown keys refused. */
function settingsOf(raw: unknown, at: string, problems: string[], notes: string[]): FlavorPatch {
  if (!isObj(raw)) {
    problems.push(`${at}: must be a mapping`);
    return {};
  }
  const out: FlavorPatch = {};
  for (const [key, value] of Object.entries(raw)) {
    switch (key) {
      case 'max':
      case 'maxPerUser':
        if (!Number.isInteger(value) || (value as number) < -1) problems.push(`${at}.${key}: must be an integer ≥ -1`);
        else if (key === 'max') out.max = value as number;
        else out.max_per_user = value as number;
        break;
      case 'weight':
        if (typeof value !== 'number') problems.push(`${at}.weight: must be a number`);
        else out.weight = value;
        break;
      case 'display_name':
      case 'description':
        if (typeof value !== 'string') problems.push(`${at}.${key}: must be a string`);
        else out[key] = value;
        break;
      case 'runtime': {
        const runtime = runtimeOf(value, `${at}.runtime`, problems, notes);
        if (runtime) out.runtime = runtime;
        break;
      }
      case 'resources': {
        const resources = resourcesOf(value, `${at}.resources`, problems);
        if (resources) out.resources = resources;
        break;
      }
      default:
        problems.push(`${at}.${key}: not a key a flavor has here (${FLAVOR_KEYS.join(', ')})`);
    }
  }
  return out;
}

function namesOf(raw: unknown, at: string, defined: ReadonlySet<string>, problems: string[]): string[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw) || raw.some((n) => typeof n !== 'string')) {
    problems.push(`${at}: must be a list of flavor names`);
    return undefined;
  }
  for (const n of raw as string[]) if (!defined.has(n)) problems.push(`${at}: "${n}" is not one of the flavors`);
  return raw as string[];
}

function overridesOf(raw: unknown, at: string, defined: ReadonlySet<string>, problems: string[], notes: string[]): Record<string, FlavorPatch> | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObj(raw)) {
    problems.push(`${at}: must be a mapping of flavor names`);
    return undefined;
  }
  const out: Record<string, FlavorPatch> = {};
  for (const [name, patch] of Object.entries(raw)) {
    if (!defined.has(name)) problems.push(`${at}.${name}: not one of the flavors`);
    out[name] = settingsOf(patch, `${at}.${name}`, problems, notes);
  }
  return out;
}

/** Does a hubs set name this credential? A list: exactly; a string: the Outpost's test (regex, fnmatch, equality). */
function hubMatches(raw: unknown, credential: string): boolean {
  if (Array.isArray(raw)) return raw.includes(credential);
  return typeof raw === 'string' && outpostMatch(raw, credential);
}

function ruleOf(name: string, raw: unknown, defined: ReadonlySet<string>, problems: string[], notes: string[]): FlavorRule | undefined {
  const at = `users.${name}`;
  if (!isObj(raw)) {
    problems.push(`${at}: must be a mapping`);
    return undefined;
  }
  for (const key of Object.keys(raw)) {
    if (!['authentication', 'negate_authentication', 'hubs', 'weight', 'forbidden', 'flavors', 'flavorsOverride'].includes(key)) problems.push(`${at}.${key}: not a key of a users set`);
  }
  const match: FlavorRule['match'] = {};
  if (!isObj(raw.authentication) || Object.keys(raw.authentication).length === 0) problems.push(`${at}.authentication: a mapping of the identity's keys to match`);
  for (const [key, how] of Object.entries(isObj(raw.authentication) ? raw.authentication : {})) {
    if (typeof how === 'string') match[key] = { outpost: how };
    else if (Array.isArray(how) && how.every((v) => typeof v === 'string')) match[key] = how as string[];
    else problems.push(`${at}.authentication.${key}: a pattern (string) or a list of values`);
  }
  if (raw.weight !== undefined && typeof raw.weight !== 'number') problems.push(`${at}.weight: must be a number`);
  const flavors = namesOf(raw.flavors, `${at}.flavors`, defined, problems);
  const overrides = overridesOf(raw.flavorsOverride, `${at}.flavorsOverride`, defined, problems, notes);
  return {
    name,
    match,
    ...(raw.negate_authentication === true ? { negate: true } : {}),
    ...(typeof raw.weight === 'number' ? { weight: raw.weight } : {}),
    ...(raw.forbidden === true ? { forbidden: true } : {}),
    ...(flavors ? { flavors } : {}),
    ...(overrides ? { overrides } : {}),
  };
}

export function importOutpostFlavors(text: string, opts: ImportOptions): ImportResult {
  const problems: string[] = [];
  const notes: string[] = [];
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ImportError([`not YAML: ${(err as Error).message}`]);
  }
  // The helm chart's values nest the file under a `flavors:` key.
  if (isObj(doc) && Object.keys(doc).length === 1 && isObj(doc.flavors) && ['flavors', 'hubs', 'users'].some((k) => k in (doc as { flavors: Obj }).flavors && isObj((doc as { flavors: Obj }).flavors[k]))) {
    const inner = doc.flavors as Obj;
    if (isObj(inner.flavors) || isObj(inner.hubs) || isObj(inner.users)) {
      doc = inner;
      notes.push('the file nests its flavors under a "flavors:" key (helm values): read from there');
    }
  }
  if (doc === null || doc === undefined) doc = {};
  if (!isObj(doc)) throw new ImportError(['the file must be a mapping with the keys flavors, hubs and users']);
  for (const key of Object.keys(doc)) if (!['flavors', 'hubs', 'users'].includes(key)) problems.push(`${key}: not a key of an Outpost's flavors file (flavors, hubs, users)`);
  if (!opts.credentials.length) problems.push('name the hub credentials to import for (--credential; an Outpost\'s jupyterhub_name)');

  const flavors: Record<string, FlavorConfig> = {};
  for (const [name, raw] of Object.entries(isObj(doc.flavors) ? doc.flavors : {})) {
    if (!FLAVOR_NAME_RE.test(name)) problems.push(`flavors.${name}: a flavor name is 1 to 63 letters, digits, ".", "_", "-", starting and ending with a letter or digit`);
    flavors[name] = settingsOf(raw, `flavors.${name}`, problems, notes);
  }
  const defined = new Set(Object.keys(flavors));
  const hubSets = Object.entries(isObj(doc.hubs) ? doc.hubs : {});
  const offers = new Map<string, { set: string; offer: NonNullable<CredentialFlavors['offer']> }>();
  for (const [name, raw] of hubSets) {
    if (!isObj(raw)) {
      problems.push(`hubs.${name}: must be a mapping`);
      continue;
    }
    for (const key of Object.keys(raw)) if (!['jupyterhub_name', 'weight', 'flavors', 'flavorsOverride'].includes(key)) problems.push(`hubs.${name}.${key}: not a key of a hubs set`);
    if (typeof raw.jupyterhub_name !== 'string' && !Array.isArray(raw.jupyterhub_name)) problems.push(`hubs.${name}.jupyterhub_name: a pattern or a list of hub names`);
    namesOf(raw.flavors, `hubs.${name}.flavors`, defined, problems);
    overridesOf(raw.flavorsOverride, `hubs.${name}.flavorsOverride`, defined, problems, notes);
  }
  const byWeight = opts.semantics === 'k8smgr';
  for (const credential of opts.credentials) {
    const matching = hubSets.filter(([, raw]) => isObj(raw) && hubMatches(raw.jupyterhub_name, credential));
    // The Outpost takes the first matching set in file order; ours the heaviest (the first of equal weight).
    const chosen = byWeight
      ? matching.reduce<(typeof matching)[number] | undefined>((best, s) => (!best || Number((s[1] as Obj).weight ?? 0) > Number((best[1] as Obj).weight ?? 0) ? s : best), undefined)
      : matching[0];
    if (!chosen) continue;
    const raw = chosen[1] as Obj;
    const scratch: string[] = [];
    const list = namesOf(raw.flavors, '', defined, scratch);
    const overrides = overridesOf(raw.flavorsOverride, '', defined, scratch, []);
    offers.set(credential, { set: chosen[0], offer: { ...(list ? { flavors: list } : {}), ...(overrides ? { overrides } : {}) } });
    if (matching.length > 1) notes.push(`${credential}: hubs sets ${matching.map(([n]) => n).join(', ')} match; "${chosen[0]}" applies (${byWeight ? 'the heaviest' : 'the first, as on the Outpost'})`);
  }
  const userSets = Object.entries(isObj(doc.users) ? doc.users : {});
  const rules = userSets.map(([name, raw]) => ({ name, hubs: isObj(raw) ? raw.hubs : undefined, rule: ruleOf(name, raw, defined, problems, notes) }));
  for (const { name, hubs } of rules) {
    if (hubs !== undefined && (!Array.isArray(hubs) || hubs.some((h) => typeof h !== 'string'))) problems.push(`users.${name}.hubs: a list of hub names`);
  }
  if (opts.globalMaxPerUser !== undefined && (!Number.isInteger(opts.globalMaxPerUser) || opts.globalMaxPerUser < -1)) problems.push('--global-max-per-user: an integer ≥ -1');
  if (problems.length) throw new ImportError(problems);

  const out: Record<string, CredentialFlavors> = {};
  for (const credential of opts.credentials) {
    const offer = offers.get(credential);
    const mine = rules.filter(({ hubs }) => !Array.isArray(hubs) || hubs.includes(credential)).flatMap(({ rule }) => (rule ? [rule] : []));
    const section: CredentialFlavors = {
      flavors,
      ...(offer && Object.keys(offer.offer).length ? { offer: offer.offer } : {}),
      ...(mine.length ? { rules: mine, rules_start_from: byWeight ? 'offer' as const : 'all' as const } : {}),
      ...(opts.globalMaxPerUser !== undefined ? { max_per_user: opts.globalMaxPerUser } : {}),
    };
    const invalid = [...Value.Errors(CredentialFlavorsSchema, section)].map((e) => `${credential}${e.instancePath.replaceAll('/', '.')}: ${e.message}`);
    if (invalid.length) throw new ImportError(invalid);
    out[credential] = section;
  }
  return { flavors: out, notes };
}
