// The `flavors` section of config.json: its schema. It lives in config/ (the
// bottom room) because the config schema embeds it; flavors/settings.ts adds
// the checks beyond the schema. See flavors/settings.ts for the meaning.
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

/**
 * Changes to a flavor for some users or for a credential's offer: any of its settings
 * (every key of a flavor is optional, so a flavor's schema is a patch's). A changed `max`
 * is those users' view of the capacity.
 */
export const FlavorPatchSchema = FlavorSchema;

/**
 * How a rule matches one key of the user's identity (the `authentication` dict an
 * OutpostSpawner sends: name, groups, ...): a pattern (exact, `*`/`?` glob, or
 * `/regex/`), a list of exact values, or `{"outpost": "<pattern>"}` for a JupyterHub
 * Outpost's own test (regular expression over the whole value, else fnmatch glob, else
 * equality), which `k8smgr flavors import` writes.
 */
export const MatchValueSchema = Type.Union([
  Type.String({ minLength: 1, maxLength: 500 }),
  Type.Array(Type.String({ maxLength: 500 }), { maxItems: 1000 }),
  Type.Object({ outpost: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }),
]);

export const FlavorRuleSchema = Type.Object(
  {
    /** For log lines and the operators' eyes. */
    name: Type.Optional(Type.String({ maxLength: 200 })),
    /** Key of the user's identity → how its value must match. */
    match: Type.Record(Type.String({ minLength: 1, maxLength: 200 }), MatchValueSchema),
    /** `any` (default, a JupyterHub Outpost's): one key matching is enough; `all`: every key must match. */
    require: Type.Optional(Type.Union([Type.Literal('any'), Type.Literal('all')])),
    /** The rule holds for users who do not match. */
    negate: Type.Optional(Type.Boolean()),
    /** Of the rules that hold, the highest weight wins (on a tie, the later one). */
    weight: Type.Optional(Type.Number()),
    /** These users get no flavors: every start is refused. */
    forbidden: Type.Optional(Type.Boolean()),
    /** The flavors these users may use (absent: all they would have). */
    flavors: Type.Optional(Type.Array(FlavorName, { maxItems: 500 })),
    /** Per flavor, changes for these users. */
    overrides: Type.Optional(Type.Record(FlavorName, FlavorPatchSchema)),
  },
  { additionalProperties: false },
);

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
    /** What this credential offers everyone: a subset of `flavors` (absent: all) and changes to them. */
    offer: Type.Optional(Type.Object(
      { flavors: Type.Optional(Type.Array(FlavorName, { maxItems: 500 })), overrides: Type.Optional(Type.Record(FlavorName, FlavorPatchSchema)) },
      { additionalProperties: false },
    )),
    /** Rules on the user's identity (the `authentication` an OutpostSpawner sends): one rule, the heaviest that holds, applies. */
    rules: Type.Optional(Type.Array(FlavorRuleSchema, { maxItems: 1000 })),
    /**
     * What a user's rule chooses from: every flavor of the credential, `offer` (default) with
     * the offer's changes (a hub's capacity holds for everybody), or `all` as defined, without
     * them (a JupyterHub Outpost's: a matched user loses the hub's changes).
     */
    rules_start_from: Type.Optional(Type.Union([Type.Literal('offer'), Type.Literal('all')])),
    /** An environment variable holding the hub token for usage pushes when a start's env has no JUPYTERHUB_FLAVORS_UPDATE_TOKEN. */
    push_token_env: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$' })),
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
export type FlavorPatch = Static<typeof FlavorPatchSchema>;
export type FlavorRule = Static<typeof FlavorRuleSchema>;
export type MatchValue = Static<typeof MatchValueSchema>;
