/**
 * Names of a start: service id, Kubernetes object names and label values.
 * Pure (node:crypto's sha256 only).
 */
import { createHash } from 'node:crypto';

export const SERVERNAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const SERVERNAME_MAX = 200;
export const START_ID_RE = /^[a-z0-9]{1,16}$/;

/** Kubernetes names (DNS-1123 labels) and label values are at most 63 characters. */
export const K8S_NAME_MAX = 63;
const HASH_LEN = 10;
const DNS1123_LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export const DEFAULT_DEPLOYMENT_NAME = 'k8smgr';
export const DEFAULT_DEPLOYMENT_MAIN_NAME_PREFIX = 'depl-';

/** The object name used in templates (`<id>`): `<servername>-<start_id>`. */
export function serviceId(servername: string, startId: string): string {
  return `${servername}-${startId}`;
}

/** Error message, or null when `s` is a usable servername. */
export function validateServername(s: unknown): string | null {
  if (typeof s !== 'string' || s === '') return 'servername must be a non-empty string';
  if (s.length > SERVERNAME_MAX) return `servername must be at most ${SERVERNAME_MAX} characters`;
  if (!SERVERNAME_RE.test(s)) {
    return 'servername must consist of lowercase letters, digits and "-", and start and end with a letter or digit';
  }
  return null;
}

/** Error message, or null when `s` is a usable start_id. */
export function validateStartId(s: unknown): string | null {
  if (typeof s !== 'string' || s === '') return 'start_id must be a non-empty string';
  if (!START_ID_RE.test(s)) return 'start_id must be 1 to 16 lowercase letters or digits';
  return null;
}

function shortHash(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex').slice(0, HASH_LEN);
}

/**
 * Joins `parts` with `-` into a valid DNS-1123 label (<= 63 characters).
 * A name that is already valid is returned unchanged. Otherwise (too long, or characters
 * that had to be replaced) it becomes `<sanitized prefix>-<10 hex of sha256(full name)>`,
 * so different inputs give different names and the same input always the same name.
 */
export function k8sName(...parts: string[]): string {
  const full = parts.join('-');
  if (full.length <= K8S_NAME_MAX && DNS1123_LABEL_RE.test(full)) return full;
  const hash = shortHash(full);
  const sanitized = full
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+/, '');
  const prefix = sanitized.slice(0, K8S_NAME_MAX - HASH_LEN - 1).replace(/-+$/, '');
  return prefix === '' ? hash : `${prefix}-${hash}`;
}

/** True when `s` is a valid Kubernetes label value. */
export function isLabelValue(s: string): boolean {
  return s.length <= K8S_NAME_MAX && LABEL_VALUE_RE.test(s);
}

/**
 * A valid label value for `s`: `s` itself when valid, else
 * `<sanitized prefix>-<10 hex of sha256(s)>` (deterministic, collision-resistant).
 */
export function labelValue(s: string): string {
  if (isLabelValue(s)) return s;
  const hash = shortHash(s);
  const sanitized = s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  const prefix = sanitized.slice(0, K8S_NAME_MAX - HASH_LEN - 1).replace(/[^A-Za-z0-9]+$/, '');
  return prefix === '' ? hash : `${prefix}-${hash}`;
}

export interface StartNamesInput {
  /** `<servername>-<start_id>` */
  id: string;
  /** env DEPLOYMENT_NAME, default `k8smgr` */
  deploymentName?: string | undefined;
  /** config `services.deployment_main_name_prefix`, default `depl-` */
  prefix?: string | undefined;
}

export interface StartNames {
  id: string;
  /** env Secret: `secret-<id>-<deploymentName>` */
  envSecret: string;
  /** certs Secret: `secret-certs-<id>-<deploymentName>` */
  certsSecret: string;
  /** main Deployment: `<prefix><id>` */
  mainDeployment: string;
}

export function startNames(input: StartNamesInput): StartNames {
  const deploymentName = input.deploymentName || DEFAULT_DEPLOYMENT_NAME;
  const prefix = input.prefix ?? DEFAULT_DEPLOYMENT_MAIN_NAME_PREFIX;
  return {
    id: input.id,
    envSecret: k8sName('secret', input.id, deploymentName),
    certsSecret: k8sName('secret-certs', input.id, deploymentName),
    mainDeployment: k8sName(`${prefix}${input.id}`),
  };
}
