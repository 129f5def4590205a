// Pure parsing of an Outpost start (`POST <base>/services`) as OutpostSpawner
// sends it: the body's shape (problems answered as FastAPI's 422 by the HTTP
// layer), the template it asks for, and its `misc` keys as template keywords
// (refusals answered as the Outpost's 419). No I/O.
import { invalidInput, malformed, type FieldProblem } from '../errors.js';
import { unsafeScalarReason } from '../templates/index.js';
import type { Certs } from '../services/request.js';
import { PORT_KEYWORD, SPAWNER_MISC_KEYS, type CredentialSettings } from './settings.js';

/** A start as the Outpost API received it, checked. */
export interface OutpostStart {
  /** The hub's server name. */
  name: string;
  /** The hub's start_id (`user_options.start_id`; "0" when absent, as on an Outpost). */
  startId: string;
  async: boolean;
  /** Every env value as a string. */
  env: Record<string, string>;
  userId: number;
  /** env JUPYTERHUB_USER ('' when absent). */
  user: string;
  /** user_options without start_id; `flavor` set from the top-level `flavor` when only that was sent. */
  userOptions: Record<string, unknown>;
  /** `<type>/<option>` of the template. */
  service: string;
  /** Template keywords from `misc`: `port` and the credential's allowed overrides. */
  keywords: Record<string, string>;
  /** The port the hub expects the server at (`misc.port`). */
  port: number | undefined;
  /** `misc.dns_name_template` (KubeSpawner's `{name}.{namespace}...`): how the hub reaches a Service. */
  dnsNameTemplate: string | undefined;
  certs: Certs | undefined;
  trustBundles: Record<string, string>;
  /** The user's identity for per-user flavor rules (OutpostSpawner sends it with user flavors). */
  authentication: Record<string, unknown> | undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function asText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** The body's shape, field by field, in FastAPI's words (what a hub admin reading the 422 knows). */
function shapeProblems(body: unknown): FieldProblem[] {
  if (!isObject(body)) return [{ loc: ['body'], type: 'model_attributes_type', msg: 'Input should be a valid dictionary or object to extract fields from', input: body ?? null }];
  const problems: FieldProblem[] = [];
  if (!('name' in body)) problems.push({ loc: ['body', 'name'], type: 'missing', msg: 'Field required', input: body });
  else if (typeof body.name !== 'string') problems.push({ loc: ['body', 'name'], type: 'string_type', msg: 'Input should be a valid string', input: body.name });
  for (const key of ['env', 'user_options', 'misc', 'certs', 'internal_trust_bundles', 'authentication', 'state'] as const) {
    const value = body[key];
    if (value !== undefined && value !== null && !isObject(value)) problems.push({ loc: ['body', key], type: 'dict_type', msg: 'Input should be a valid dictionary', input: value });
  }
  if (body.flavor !== undefined && body.flavor !== null && typeof body.flavor !== 'string') {
    problems.push({ loc: ['body', 'flavor'], type: 'string_type', msg: 'Input should be a valid string', input: body.flavor });
  }
  return problems;
}

/** Which template: `service` (the seed's key) when sent, else the credential's option key (mapped), else its default. */
export function chooseService(userOptions: Readonly<Record<string, unknown>>, settings: CredentialSettings): string {
  if (typeof userOptions.service === 'string' && userOptions.service !== '') return userOptions.service;
  const value = userOptions[settings.optionKey];
  if (typeof value === 'string' && value !== '') {
    if (!settings.options) return value;
    const mapped = settings.options[value];
    if (mapped !== undefined) return mapped;
    throw invalidInput(`${settings.optionKey} "${value.slice(0, 100)}" is not offered here (offered: ${Object.keys(settings.options).sort().join(', ') || 'none'})`);
  }
  if (settings.defaultService) return settings.defaultService;
  throw invalidInput(`No service chosen: user_options has neither "service" nor "${settings.optionKey}", and this hub has no default service`);
}

/** `misc` → template keywords: `port` always, the credential's allowed overrides; any other key is refused by name. */
export function miscKeywords(misc: Readonly<Record<string, unknown>>, settings: CredentialSettings): { keywords: Record<string, string>; port: number | undefined } {
  let port: number | undefined;
  if (misc.port !== undefined && misc.port !== null) {
    const n = typeof misc.port === 'string' && /^[0-9]{1,5}$/.test(misc.port) ? Number(misc.port) : misc.port;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) throw invalidInput(`misc.port must be a port number (1-65535), got ${JSON.stringify(misc.port).slice(0, 40)}`);
    port = n;
  }
  const keywords: Record<string, string> = { ...settings.miscKeywords };
  for (const [key, value] of Object.entries(misc)) {
    if (SPAWNER_MISC_KEYS.has(key)) continue;
    if (!Object.prototype.hasOwnProperty.call(settings.miscKeywords, key)) {
      const allowed = Object.keys(settings.miscKeywords).sort();
      throw invalidInput(`misc.${key} may not be overridden by this hub (${allowed.length ? `allowed: ${allowed.join(', ')}` : 'no misc overrides are allowed'})`);
    }
    if (value === null || value === undefined) continue;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') throw invalidInput(`misc.${key} must be a string, number or boolean`);
    const text = String(value);
    const why = unsafeScalarReason(text);
    if (why !== null) throw invalidInput(`misc.${key} is not allowed: ${why}`);
    keywords[key] = text;
  }
  if (port !== undefined) keywords[PORT_KEYWORD] = String(port);
  return { keywords, port };
}

function certsOf(body: Record<string, unknown>): { certs: Certs | undefined; trustBundles: Record<string, string> } | FieldProblem[] {
  const problems: FieldProblem[] = [];
  const raw = isObject(body.certs) ? body.certs : {};
  let certs: Certs | undefined;
  if (Object.keys(raw).length > 0) {
    for (const key of ['keyfile', 'certfile', 'cafile']) {
      if (typeof raw[key] !== 'string' || raw[key] === '') problems.push({ loc: ['body', 'certs', key], type: 'string_type', msg: 'internal_ssl needs keyfile, certfile and cafile as PEM text', input: raw[key] ?? null });
    }
    if (problems.length === 0) certs = { keyfile: raw.keyfile as string, certfile: raw.certfile as string, cafile: raw.cafile as string };
  }
  const trustBundles: Record<string, string> = {};
  for (const [name, pem] of Object.entries(isObject(body.internal_trust_bundles) ? body.internal_trust_bundles : {})) {
    if (typeof pem !== 'string') problems.push({ loc: ['body', 'internal_trust_bundles', name], type: 'string_type', msg: 'Input should be a valid string', input: pem });
    else if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(name)) problems.push({ loc: ['body', 'internal_trust_bundles', name], type: 'value_error', msg: 'A trust bundle name is letters, digits, "-", "_" and "."', input: name });
    else trustBundles[name] = pem;
  }
  return problems.length ? problems : { certs, trustBundles };
}

/**
 * The start, or a DomainError: `malformed` for the body's shape (422), `invalid_input`
 * for what the site refuses (419 on the Outpost API, naming the key).
 */
export function parseOutpostStart(body: unknown, headers: Record<string, string | string[] | undefined>, settings: CredentialSettings): OutpostStart {
  const shape = shapeProblems(body);
  if (shape.length) throw malformed(shape);
  const b = body as Record<string, unknown>;
  const name = b.name as string;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(isObject(b.env) ? b.env : {})) if (value !== null && value !== undefined) env[key] = asText(value);
  const userIdText = env.JUPYTERHUB_USER_ID ?? '0';
  const userId = Number(userIdText);
  if (!/^[0-9]{1,15}$/.test(userIdText.trim()) || !Number.isSafeInteger(userId)) {
    throw malformed([{ loc: ['body', 'env', 'JUPYTERHUB_USER_ID'], type: 'int_parsing', msg: 'Input should be a valid integer, unable to parse string as an integer', input: userIdText }]);
  }
  const certs = certsOf(b);
  if (Array.isArray(certs)) throw malformed(certs);
  // Default (unnamed) servers cannot work: the spawner's poll and stop URLs would be `services//<start_id>`.
  if (name === '') throw invalidInput('The default (unnamed) server cannot be started through the Outpost API: use a named server (c.JupyterHub.allow_named_servers)');

  const { start_id: rawStartId, ...userOptions } = isObject(b.user_options) ? b.user_options : {};
  const startId = rawStartId === undefined || rawStartId === null ? '0' : asText(rawStartId);
  if (typeof b.flavor === 'string' && userOptions.flavor === undefined) userOptions.flavor = b.flavor;
  const { keywords, port } = miscKeywords(isObject(b.misc) ? b.misc : {}, settings);
  const executionType = headers['execution-type'];
  return {
    name,
    startId,
    async: (Array.isArray(executionType) ? executionType[0] : executionType)?.toLowerCase() === 'async',
    env,
    userId,
    user: env.JUPYTERHUB_USER ?? '',
    userOptions,
    service: chooseService(userOptions, settings),
    keywords,
    port,
    dnsNameTemplate: isObject(b.misc) && typeof b.misc.dns_name_template === 'string' ? b.misc.dns_name_template : undefined,
    certs: certs.certs,
    trustBundles: certs.trustBundles,
    authentication: isObject(b.authentication) && Object.keys(b.authentication).length ? b.authentication : undefined,
  };
}
