// The config.json schema: every key of the original K8s Manager with its default.
// Parsing is pure (text in, frozen config or a list of errors out), so it is
// unit-tested without files; load.ts does the reading and watching.
import { Type, type Static } from 'typebox';
import { UserjobsConfigSchema } from './userjobs-schema.js';
import { FlavorsConfigSchema } from './flavors-schema.js';
import { OutpostConfigSchema } from './outpost-schema.js';

const StrMap = Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]));
const StrList = Type.Array(Type.String());

const Replace = Type.Object(
  {
    indicators: Type.Tuple([Type.String({ minLength: 1 }), Type.String({ minLength: 1 })], { default: ['<', '>'] }),
    input_keyword: Type.String({ minLength: 1, default: 'input' }),
    drfid_keyword: Type.String({ minLength: 1, default: 'id' }),
    uniqueuserid_keyword: Type.String({ minLength: 1, default: 'unique_user_id' }),
    userid_keyword: Type.String({ minLength: 1, default: 'user_id' }),
    secretname_keyword: Type.String({ minLength: 1, default: 'secret_name' }),
    secretcertsname_keyword: Type.String({ minLength: 1, default: 'secret_certs_name' }),
    namespace_keyword: Type.String({ minLength: 1, default: 'namespace' }),
    stage: Type.Record(Type.String(), StrMap, { default: {} }),
    credential: Type.Record(Type.String(), StrMap, { default: {} }),
    stage_credential: Type.Record(Type.String(), Type.Record(Type.String(), StrMap), { default: {} }),
  },
  { default: {} },
);

const Services = Type.Object(
  {
    base: Type.String({ minLength: 1, default: '/tmp/services/services' }),
    descriptions: Type.String({ minLength: 1, default: '/tmp/services/descriptions' }),
    yaml_filename: Type.String({ minLength: 1, default: 'service.yaml' }),
    yaml_filename_update: Type.String({ minLength: 1, default: 'update.yaml' }),
    deployment_main_name_prefix: Type.String({ default: 'depl-', pattern: '^[a-z]([-a-z0-9]*)?$' }),
    container_main_name: Type.String({ minLength: 1, default: 'main' }),
    input_dir: Type.String({ minLength: 1, default: 'input' }),
    replace: Replace,
    ssl: Type.Object({ enabled: Type.Boolean({ default: false }) }, { default: {} }),
    status_information: Type.Object(
      {
        pod_events_no: Type.Integer({ minimum: 0, maximum: 100, default: 3 }),
        container_logs_lines: Type.Integer({ minimum: 0, maximum: 1000, default: 5 }),
      },
      { default: {} },
    ),
    pod_events_to_fail: Type.Array(Type.String(), { default: ['Warning'] }),
    env: Type.Record(Type.String(), Type.String(), { default: {} }),
    env_skip: Type.Array(Type.String(), { default: ['LC_ALL', 'LANG', 'PATH', 'PYTHONPATH', 'uuidcode'] }),
    headers_key_access_token: Type.String({ default: 'access-token' }),
    custom_headers_keys: Type.Array(Type.String(), { default: [] }),
    credential_mapping: Type.Record(Type.String(), Type.String(), { default: {} }),
    skip: Type.Object(
      { stage: Type.Array(Type.String(), { default: [] }), credential: Type.Array(Type.String(), { default: [] }) },
      { default: {} },
    ),
    descriptions_ignore_files: Type.Array(Type.String(), { default: [] }),
    max_body_bytes: Type.Integer({ minimum: 1024, default: 1_048_576 }),
    /** Seconds after a failure was reported before the start's workload is removed (the anchor stays to answer). -1 never, 0 at once. */
    failed_cleanup_seconds: Type.Integer({ minimum: -1, default: 300 }),
    /** Seconds after a failure before the anchor itself is removed (or at the next start or stop of the servername). -1 never. */
    failed_retention_seconds: Type.Integer({ minimum: -1, default: 86_400 }),
    /** A start must have created all its objects this long after it began; past it, a start whose replica died answers "interrupted". */
    creation_timeout_seconds: Type.Integer({ minimum: 2, maximum: 600, default: 20 }),
  },
  { default: {} },
);

const Userhomes = Type.Object(
  {
    enabled: Type.Boolean({ default: true }),
    base: Type.String({ minLength: 1, default: '/mnt/userhomes' }),
    skel: Type.String({ minLength: 1, default: '/mnt/shared-data/git_config/userhome_skel' }),
    skel_ignore_files: Type.Array(Type.String(), { default: [] }),
    service_suffix: Type.Record(Type.String(), Type.String(), { default: {} }),
    uid: Type.Integer({ minimum: 0, default: 1000 }),
    gid: Type.Integer({ minimum: 0, default: 1000 }),
  },
  { default: {} },
);

const Tunnel = Type.Object({
  hostname: Type.String({ default: '' }),
  restart_url: Type.String({ default: '' }),
  restart_url_stage: Type.Record(Type.String(), Type.String(), { default: {} }),
  timeout: Type.Number({ minimum: 0, default: 10 }),
  certificate_path: Type.Union([Type.String(), Type.Literal(false)], { default: false }),
  cred_env_name: Type.String({ default: 'TUNNEL_BASIC' }),
  /** Keep retrying a failed notification for this long (seconds). */
  retry_deadline: Type.Number({ minimum: 0, default: 600 }),
});

export const ConfigSchema = Type.Object({
  services: Services,
  userhomes: Userhomes,
  tunnel: Type.Array(Tunnel, { default: [] }),
  startup: Type.Object(
    { create_user: Type.Record(Type.String(), StrList, { default: {} }) },
    { default: {} },
  ),
  error_messages: Type.Record(Type.String(), Type.String(), { default: {} }),
  userjobs: UserjobsConfigSchema,
  /** Per credential: flavors with capacity, per-user and runtime limits (docs/flavors.md). */
  flavors: FlavorsConfigSchema,
  /** The JupyterHub Outpost API beside the seed's (docs/outpost.md). */
  outpost: OutpostConfigSchema,
});

export type Config = Static<typeof ConfigSchema>;
export type ServicesConfig = Config['services'];
