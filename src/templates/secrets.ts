/**
 * The two Secrets the manager creates per start. Pure builders.
 */
import { TemplateError } from './errors.js';
import { labelValue } from './names.js';
import { ownerReference, type KubeObject, type OwnerInfo } from './objects.js';

/** config `services.env_skip` default */
export const DEFAULT_ENV_SKIP: readonly string[] = ['LC_ALL', 'LANG', 'PATH', 'PYTHONPATH', 'uuidcode'];

const SECRET_KEY_RE = /^[-._a-zA-Z0-9]{1,253}$/;

function envValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

interface SecretCommon {
  name: string;
  namespace: string;
  labels?: Readonly<Record<string, string>> | undefined;
  owner?: OwnerInfo | undefined;
}

export interface EnvSecretInput extends SecretCommon {
  /** `env` of the request body (plus headers the caller wants in, e.g. access-token) */
  env: Readonly<Record<string, unknown>>;
  /** config `services.env`: extra key/values (override the body's) */
  extraEnv?: Readonly<Record<string, unknown>> | undefined;
  /** config `services.env_skip` (default {@link DEFAULT_ENV_SKIP}) */
  skip?: readonly string[] | undefined;
  servername: string;
  /** `<servername>-<start_id>`, stored as DRF_ID */
  id: string;
}

function secretShell(input: SecretCommon, stringData: Record<string, string>): KubeObject {
  const metadata: KubeObject['metadata'] = { name: input.name, namespace: input.namespace };
  if (input.labels !== undefined) {
    metadata.labels = Object.fromEntries(Object.entries(input.labels).map(([k, v]) => [k, labelValue(v)]));
  }
  if (input.owner !== undefined) metadata.ownerReferences = [ownerReference(input.owner)];
  return { apiVersion: 'v1', kind: 'Secret', metadata, type: 'Opaque', stringData };
}

function sorted(data: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(data).sort().map((k) => [k, data[k] as string]));
}

/**
 * Env Secret: every `env` value as a string, plus `extraEnv`, minus `skip`, plus
 * SERVERNAME and DRF_ID. TemplateError('bad_value') for a key Kubernetes would refuse.
 */
export function buildEnvSecret(input: EnvSecretInput): KubeObject {
  const skip = new Set(input.skip ?? DEFAULT_ENV_SKIP);
  const data: Record<string, string> = {};
  for (const source of [input.env, input.extraEnv ?? {}]) {
    for (const [k, v] of Object.entries(source)) {
      if (skip.has(k)) continue;
      if (!SECRET_KEY_RE.test(k)) throw new TemplateError('bad_value', `Invalid env key: ${JSON.stringify(k)}`);
      data[k] = envValue(v);
    }
  }
  data.SERVERNAME = input.servername;
  data.DRF_ID = input.id;
  return secretShell(input, sorted(data));
}

/** `certs` of the start body: the hub's internal_ssl key, certificate and CA (PEM text). */
export interface CertsInput {
  keyfile: string;
  certfile: string;
  cafile: string;
}

export interface CertsSecretInput extends SecretCommon {
  certs: unknown;
  /** internal_ssl trust bundles (Outpost API: `internal_trust_bundles`), name → PEM; each under {@link trustBundleKey}. */
  trustBundles?: Readonly<Record<string, string>> | undefined;
}

/** The certs Secret's key of a trust bundle: `hub-ca` → `JUPYTERHUB_TRUST_BUNDLE_HUB_CA`. */
export function trustBundleKey(name: string): string {
  return `JUPYTERHUB_TRUST_BUNDLE_${name.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}`;
}

/**
 * Certs Secret (with `services.ssl.enabled`). The PEM strings come from the start body's
 * `certs` (the hub's internal_ssl key/cert/CA), not from the manager's config.
 * TemplateError('bad_value') naming a missing or non-string field.
 */
/** The certs Secret's keys (what single-user images read). */
export const CERTS_KEYS = {
  certfile: 'JUPYTERHUB_SSL_CERTFILE_DATA',
  cafile: 'JUPYTERHUB_SSL_CLIENT_CA_DATA',
  keyfile: 'JUPYTERHUB_SSL_KEYFILE_DATA',
} as const;

export function buildCertsSecret(input: CertsSecretInput): KubeObject {
  const certs = input.certs;
  if (certs === null || typeof certs !== 'object' || Array.isArray(certs)) {
    throw new TemplateError('bad_value', 'Missing key in input data: certs');
  }
  const c = certs as Record<string, unknown>;
  for (const k of ['keyfile', 'certfile', 'cafile'] as const) {
    if (typeof c[k] !== 'string' || c[k] === '') throw new TemplateError('bad_value', `Missing key in input data: certs.${k}`);
  }
  const bundles: Record<string, string> = {};
  for (const [name, pem] of Object.entries(input.trustBundles ?? {})) {
    if (typeof pem !== 'string') throw new TemplateError('bad_value', `internal_trust_bundles.${name} must be a string`);
    bundles[trustBundleKey(name)] = pem;
  }
  return secretShell(input, sorted({
    ...bundles,
    [CERTS_KEYS.certfile]: c.certfile as string,
    [CERTS_KEYS.cafile]: c.cafile as string,
    [CERTS_KEYS.keyfile]: c.keyfile as string,
  }));
}
