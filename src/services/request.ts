// Pure parsing of a start request (headers + body) in the original's order of
// checks and with its messages, so hubs and their admins' callables see the
// answers they know.
import type { ServicesConfig } from '../config/schema.js';
import { validateServername, validateStartId } from '../templates/names.js';
import type { OutpostOrigin } from './types.js';

export interface Certs {
  keyfile: string;
  certfile: string;
  cafile: string;
}

export interface StartRequest {
  servername: string;
  startId: string;
  service: string;
  userOptions: Record<string, unknown>;
  userId: number;
  /** Every env value of the body as a string, plus access-token and custom headers. */
  env: Record<string, string>;
  /** Where progress events go (the seed's JUPYTERHUB_STATUS_URL, the Outpost's JUPYTERHUB_EVENTS_URL). */
  statusUrl: string;
  apiToken: string;
  certs: Certs | undefined;
  /** internal_ssl trust bundles (Outpost API): name → PEM, kept in the certs Secret beside the certs. */
  trustBundles?: Record<string, string>;
  /** Template keywords the API adds for this start (the Outpost's `misc`: `<port>`, ...). */
  keywords?: Record<string, string>;
  /** The user's identity for flavor rules (the Outpost API's `authentication`; never stored). */
  authentication?: Readonly<Record<string, unknown>>;
  /** Starts of the Outpost API: the hub's words, kept on the record. */
  outpost?: Omit<OutpostOrigin, 'service'>;
}

export type HeaderBag = Record<string, string | string[] | undefined>;

export function header(headers: HeaderBag, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

export function validServername(name: string): boolean {
  return validateServername(name) === null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asString(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Returns the parsed request, or the list of problems (answered as 400). */
export function parseStartRequest(headers: HeaderBag, body: unknown, cfg: ServicesConfig): StartRequest | string[] {
  const servername = header(headers, 'uuidcode');
  if (!servername) return ['Missing header: uuidcode'];
  const badName = validateServername(servername);
  if (badName) return [`Invalid uuidcode "${servername.slice(0, 80)}": ${badName}`];
  if (!isObject(body)) return ['Request body must be a JSON object'];

  const missing = (key: string) => [`Missing key in input data: ${key}`];
  const env = body.env;
  if (!isObject(env)) return missing('env');
  for (const key of ['JUPYTERHUB_STATUS_URL', 'JUPYTERHUB_API_TOKEN', 'JUPYTERHUB_USER_ID']) {
    if (!(key in env) || env[key] === null || env[key] === undefined) return missing(`env.${key}`);
  }
  const userOptions = body.user_options;
  if (!isObject(userOptions)) return missing('user_options');
  if (!('service' in userOptions)) return missing('user_options.service');
  if (!('start_id' in body)) return missing('start_id');

  const userId = Number(env.JUPYTERHUB_USER_ID);
  if (!Number.isSafeInteger(userId) || userId < 0 || String(env.JUPYTERHUB_USER_ID).trim() === '') {
    return [`env.JUPYTERHUB_USER_ID must be an integer, got ${JSON.stringify(env.JUPYTERHUB_USER_ID)}`];
  }
  if (typeof userOptions.service !== 'string' || userOptions.service === '') return ['user_options.service must be a non-empty string'];
  const startId = String(body.start_id);
  const badStartId = validateStartId(startId);
  if (badStartId) return [`Invalid start_id "${startId.slice(0, 40)}": ${badStartId}`];
  // Templates name the main Deployment `<prefix><servername>-<start_id>`, which must stay a valid name.
  const longest = 63 - cfg.deployment_main_name_prefix.length - 1 - startId.length;
  if (servername.length > longest) {
    return [`uuidcode is ${servername.length} characters long: with this start_id at most ${longest} fit in a Kubernetes name`];
  }
  if (typeof env.JUPYTERHUB_STATUS_URL !== 'string') return ['env.JUPYTERHUB_STATUS_URL must be a string'];
  if (typeof env.JUPYTERHUB_API_TOKEN !== 'string') return ['env.JUPYTERHUB_API_TOKEN must be a string'];

  const envOut: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== null && value !== undefined) envOut[key] = asString(value);
  }
  const accessToken = header(headers, cfg.headers_key_access_token);
  if (accessToken) envOut.ACCESS_TOKEN = accessToken;
  for (const name of cfg.custom_headers_keys) {
    const value = header(headers, name);
    if (value !== undefined) envOut[name] = value;
  }

  let certs: Certs | undefined;
  if (body.certs !== undefined) {
    const c = body.certs;
    if (!isObject(c) || typeof c.keyfile !== 'string' || typeof c.certfile !== 'string' || typeof c.cafile !== 'string') {
      return ['certs must be an object with the strings keyfile, certfile and cafile'];
    }
    certs = { keyfile: c.keyfile, certfile: c.certfile, cafile: c.cafile };
  }
  return {
    servername,
    startId,
    service: userOptions.service,
    userOptions: { ...userOptions },
    userId,
    env: envOut,
    statusUrl: env.JUPYTERHUB_STATUS_URL,
    apiToken: env.JUPYTERHUB_API_TOKEN,
    certs,
  };
}
