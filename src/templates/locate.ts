/**
 * Where a service's template folder is: `<descriptions>/<credential dir>/<type>/<option>/`.
 * Pure path logic; the symlink check (realpath) is in files.ts.
 */
import path from 'node:path';
import { TemplateError } from './errors.js';

/** One path segment of a service path or credential folder. */
export const SEGMENT_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SEGMENT_MAX = 128;

export function isSafeSegment(s: unknown): s is string {
  return (
    typeof s === 'string' && s.length <= SEGMENT_MAX && SEGMENT_RE.test(s) && s !== '.' && s !== '..'
  );
}

export interface ServicePath {
  type: string;
  option: string;
}

/** Parses `user_options.service` = `"<type>/<option>"`; TemplateError('bad_service') otherwise. */
export function parseServicePath(service: unknown): ServicePath {
  if (typeof service !== 'string' || service === '') {
    throw new TemplateError('bad_service', 'user_options.service must be a non-empty string "<type>/<option>"');
  }
  const parts = service.split('/');
  if (parts.length !== 2) {
    throw new TemplateError('bad_service', `user_options.service must be "<type>/<option>": ${JSON.stringify(service)}`);
  }
  const [type, option] = parts as [string, string];
  if (!isSafeSegment(type) || !isSafeSegment(option)) {
    throw new TemplateError('bad_service', `user_options.service has an invalid segment: ${JSON.stringify(service)}`);
  }
  return { type, option };
}

/** The folder name of a credential: `credential_mapping[cred]` or the credential itself. */
export function credentialDir(credential: string, mapping?: Readonly<Record<string, unknown>>): string {
  const mapped = mapping?.[credential];
  return typeof mapped === 'string' && mapped !== '' ? mapped : credential;
}

/** True when `p` is `root` itself or below it (both resolved, no symlink check). */
export function isInside(root: string, p: string): boolean {
  const rel = path.relative(path.resolve(root), path.resolve(p));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * `<descriptionsRoot>/<credentialDir>/<type>/<option>` as an absolute path.
 * Throws TemplateError('bad_service') for an unsafe service or credential folder name.
 */
export function resolveServiceDir(descriptionsRoot: string, credDir: string, service: unknown): string {
  if (!isSafeSegment(credDir)) {
    throw new TemplateError('bad_service', `invalid credential folder name: ${JSON.stringify(credDir)}`);
  }
  const { type, option } = parseServicePath(service);
  const root = path.resolve(descriptionsRoot);
  const dir = path.resolve(root, credDir, type, option);
  if (dir === root || !isInside(root, dir)) {
    throw new TemplateError('bad_service', `service path escapes the descriptions folder: ${JSON.stringify(service)}`);
  }
  return dir;
}
