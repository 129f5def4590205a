// What a request presents: parsed from `Authorization` (standard) or
// `Authentication` (the seed's name), with the schemes `Basic`, `token` and
// `Bearer` (case-insensitive). Also the token format:
// `k8smgr_<id>_<secret>`, where the public id finds the one stored hash to
// compare with.
import { randomBytes } from 'node:crypto';
import type { HeaderBag } from './types.js';

export type Presented =
  | { kind: 'basic'; user: string; password: string }
  | { kind: 'token'; token: string }
  | { kind: 'missing' }
  | { kind: 'malformed' };

/** Longest header value considered at all (Node limits all headers to 16 KiB anyway). */
const MAX_VALUE = 8 * 1024;

export function parseAuthHeader(headers: HeaderBag): Presented {
  const value = pick(headers.authorization) ?? pick(headers.authentication);
  if (value === undefined) return { kind: 'missing' };
  if (value === null) return { kind: 'malformed' };
  const trimmed = value.trim();
  if (trimmed === '') return { kind: 'missing' };
  if (trimmed.length > MAX_VALUE) return { kind: 'malformed' };
  const match = /^([A-Za-z]+)\s+(\S+)$/.exec(trimmed);
  if (!match) return { kind: 'malformed' };
  const scheme = match[1]!.toLowerCase();
  const credentials = match[2]!;
  if (scheme === 'token' || scheme === 'bearer') return { kind: 'token', token: credentials };
  if (scheme !== 'basic') return { kind: 'malformed' };
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(credentials)) return { kind: 'malformed' };
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return { kind: 'malformed' };
  return { kind: 'basic', user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** undefined: absent; null: present but unusable (repeated). */
function pick(value: string | string[] | undefined): string | undefined | null {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.length === 1 ? (value[0] ?? null) : null;
  return value;
}

const TOKEN_PREFIX = 'k8smgr';
const TOKEN = /^k8smgr_([0-9a-f]{16})_([A-Za-z0-9_-]{32,128})$/;

export function newTokenId(): string {
  return randomBytes(8).toString('hex');
}

export function formatToken(id: string): string {
  return `${TOKEN_PREFIX}_${id}_${randomBytes(32).toString('base64url')}`;
}

/** The token's public id, or undefined when the text is not one of our tokens. */
export function tokenId(token: string): string | undefined {
  return TOKEN.exec(token)?.[1];
}

export function basicHeader(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}
