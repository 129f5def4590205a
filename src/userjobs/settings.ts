// The `userjobs` section of config.json, parsed on its own (pure), so it works
// whether or not the central schema declares the section yet.
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';

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
