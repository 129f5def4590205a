// The `userjobs` section of config.json: its schema. It lives in config/ (the
// bottom room) because the config schema embeds it; userjobs/settings.ts reads it.
import { Type, type Static } from 'typebox';

export const UserjobsConfigSchema = Type.Object(
  {
    /** Off: the /api/userjobs/ routes answer 404 and no ssh is run. */
    enabled: Type.Boolean({ default: true }),
    /** Local ports for the forwards, inclusive. */
    port_range: Type.Tuple([Type.Integer({ minimum: 1, maximum: 65535 }), Type.Integer({ minimum: 1, maximum: 65535 })], { default: [40000, 40999] }),
    /** HPC systems users may name in `hostname`; empty: every `Host tunnel_<system>` of the SSH config. */
    systems: Type.Array(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$' }), { default: [] }),
    /** Address the forwards listen on (the userjob Services reach the manager pod there). */
    bind_address: Type.String({ default: '0.0.0.0', pattern: '^([0-9]{1,3}\\.){3}[0-9]{1,3}$' }),
    /** Folder of the control sockets (`<system>.sock`); keep the path short (unix sockets: 108 bytes). */
    control_dir: Type.String({ minLength: 1, maxLength: 70, default: '/tmp/k8smgr-ssh' }),
    ssh_binary: Type.String({ minLength: 1, default: 'ssh' }),
    connect_timeout_seconds: Type.Integer({ minimum: 1, maximum: 300, default: 10 }),
    /** Upper bound for any one ssh call (on top of the connect timeout for a master start). */
    command_timeout_seconds: Type.Integer({ minimum: 1, maximum: 300, default: 15 }),
    /** How often masters (`-O check`) and forwards (is the local port held?) are checked. */
    check_interval_seconds: Type.Number({ minimum: 0.2, maximum: 3600, default: 30 }),
    /** After a restart, how long a saved userjob may fail to come back before it is removed. */
    restore_timeout_seconds: Type.Number({ minimum: 0, maximum: 86400, default: 120 }),
    server_alive_interval_seconds: Type.Integer({ minimum: 0, maximum: 3600, default: 15 }),
    max_ports: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
  },
  { default: {} },
);

export type UserjobsSettings = Static<typeof UserjobsConfigSchema>;
