// The `outpost` section of config.json: its schema. It lives in config/ (the
// bottom room) because the config schema embeds it; outpost/settings.ts reads
// it and adds the checks a schema cannot say. See docs/outpost.md.
import { Type, type Static } from 'typebox';

/** A `misc` key the hub may send as a template keyword (the shape of user option names). */
export const MISC_KEY_PATTERN = '^[A-Za-z_][A-Za-z0-9_]{0,62}$';

const MiscValue = Type.Union([Type.String({ maxLength: 1024 }), Type.Number(), Type.Boolean()]);

/** How one hub credential's Outpost starts choose and fill their template. Every key is optional. */
export const OutpostCredentialSchema = Type.Object(
  {
    /**
     * The `user_options` key that names the service when `service` is absent
     * (OutpostSpawner sites usually send `profile` or `option`).
     */
    option_key: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
    /** Values of `option_key` → `<type>/<option>` of a template; without it the value is the path itself. */
    options: Type.Optional(Type.Record(Type.String(), Type.String({ minLength: 1 }))),
    /** The `<type>/<option>` of a start that names none. */
    default_service: Type.Optional(Type.String({ minLength: 1 })),
    /**
     * `misc` keys the hub may override, each a template keyword (`<image>`), with the value a
     * template gets when the hub sends none. Any other key beyond the spawner's defaults is refused.
     */
    misc_keywords: Type.Optional(Type.Record(Type.String({ pattern: MISC_KEY_PATTERN }), MiscValue)),
  },
  { additionalProperties: false },
);

export const OutpostConfigSchema = Type.Object(
  {
    /** Off: the Outpost API's paths answer 404. */
    enabled: Type.Boolean({ default: true }),
    /** Where the Outpost API is served (the spawner's request_url is `<manager>/<base_path>/services`). */
    base_path: Type.String({ default: '/outpost', pattern: '^(/[A-Za-z0-9._~-]+)+$' }),
    /**
     * A synchronous start answers when the main container is ready, or fails after this long.
     * Keep it below the hub's request timeout (tornado's default is 20 s).
     */
    ready_timeout_seconds: Type.Number({ minimum: 1, maximum: 3600, default: 15 }),
    /** Log lines a poll or stop with `collect_logs=true` returns. */
    log_lines: Type.Integer({ minimum: 0, maximum: 10_000, default: 100 }),
    /** A poll with `collect_logs=true` reads a running container's log at most this often (the answer is kept meanwhile). */
    log_max_age_seconds: Type.Number({ minimum: 0, maximum: 3600, default: 10 }),
    /** Defaults for every credential (each credential's entry below wins key by key). */
    defaults: Type.Optional(OutpostCredentialSchema),
    /** Per hub credential. */
    credentials: Type.Record(Type.String(), OutpostCredentialSchema, { default: {} }),
  },
  { default: {} },
);

export type OutpostConfig = Static<typeof OutpostConfigSchema>;
export type OutpostCredentialConfig = Static<typeof OutpostCredentialSchema>;
