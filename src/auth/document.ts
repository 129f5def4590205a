// The credentials document: what the credentials Secret holds under one key, as
// JSON. Pure: parsing (tolerant: a broken entry is dropped and reported, the
// others stay usable), serializing, and the edits the store makes.
import { GROUPS, isGroup, type Group } from './types.js';
import { isHash } from './hash.js';

export interface TokenEntry {
  /** Public id, part of the token text: finds the hash without trying every credential. */
  id: string;
  hash: string;
  created: string;
}

export interface CredentialEntry {
  groups: Group[];
  /** scrypt hash of the password; absent for a token-only credential. */
  password?: string;
  tokens: TokenEntry[];
  updated: string;
}

export interface CredentialDoc {
  version: 1;
  credentials: Record<string, CredentialEntry>;
}

export const DOC_KEY = 'credentials.json';

/** Credential names: they name folders (`<descriptions>/<credential>/`) and appear in Basic user names (no `:`). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function isCredentialName(name: string): boolean {
  return NAME.test(name) && name !== '.' && name !== '..';
}

export function checkCredentialName(name: string): void {
  if (!isCredentialName(name)) {
    throw new CredentialError(
      `Invalid credential name "${name.slice(0, 80)}": 1-63 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit.`,
    );
  }
}

export function checkGroups(groups: readonly string[]): Group[] {
  const unknown = groups.filter((g) => !isGroup(g));
  if (unknown.length) {
    throw new CredentialError(`Unknown group(s): ${unknown.join(', ')}. Available: ${GROUPS.join(', ')}.`);
  }
  return [...new Set(groups as Group[])].sort();
}

/** A caller's mistake (bad name, unknown group, unknown credential): the message is safe to show. */
export class CredentialError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialError';
  }
}

export function emptyDoc(): CredentialDoc {
  return { version: 1, credentials: {} };
}

export interface ParseResult {
  doc: CredentialDoc;
  /** Entries that could not be read (by name, never their content). */
  problems: string[];
}

export function parseDoc(text: string | undefined): ParseResult {
  if (text === undefined || text.trim() === '') return { doc: emptyDoc(), problems: [] };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { doc: emptyDoc(), problems: [`${DOC_KEY} is not valid JSON`] };
  }
  const credentials = (raw as { credentials?: unknown } | null)?.credentials;
  if (typeof credentials !== 'object' || credentials === null || Array.isArray(credentials)) {
    return { doc: emptyDoc(), problems: [`${DOC_KEY} has no "credentials" object`] };
  }
  const doc = emptyDoc();
  const problems: string[] = [];
  for (const [name, value] of Object.entries(credentials as Record<string, unknown>)) {
    const entry = parseEntry(value);
    if (!isCredentialName(name) || !entry) problems.push(`credential "${name.slice(0, 80)}" is malformed and ignored`);
    else doc.credentials[name] = entry;
  }
  return { doc, problems };
}

function parseEntry(value: unknown): CredentialEntry | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (!Array.isArray(v.groups) || !v.groups.every((g) => typeof g === 'string')) return undefined;
  if (v.password !== undefined && !isHash(v.password)) return undefined;
  const tokens: TokenEntry[] = [];
  for (const t of Array.isArray(v.tokens) ? v.tokens : []) {
    const token = t as Partial<TokenEntry> | null;
    if (token && typeof token.id === 'string' && isHash(token.hash)) {
      tokens.push({ id: token.id, hash: token.hash, created: typeof token.created === 'string' ? token.created : '' });
    }
  }
  const entry: CredentialEntry = {
    groups: (v.groups as string[]).filter(isGroup),
    tokens,
    updated: typeof v.updated === 'string' ? v.updated : '',
  };
  if (typeof v.password === 'string') entry.password = v.password;
  return entry;
}

export function serializeDoc(doc: CredentialDoc): string {
  const sorted: Record<string, CredentialEntry> = {};
  for (const name of Object.keys(doc.credentials).sort()) sorted[name] = doc.credentials[name]!;
  return JSON.stringify({ version: 1, credentials: sorted }, null, 1);
}

/** Finds the credential owning a token id. */
export function findToken(doc: CredentialDoc, tokenId: string): { credential: string; entry: CredentialEntry; token: TokenEntry } | undefined {
  for (const [credential, entry] of Object.entries(doc.credentials)) {
    const token = entry.tokens.find((t) => t.id === tokenId);
    if (token) return { credential, entry, token };
  }
  return undefined;
}

/** Names of the credentials whose entry differs between two documents (added, removed or changed). */
export function changedCredentials(before: CredentialDoc, after: CredentialDoc): string[] {
  const names = new Set([...Object.keys(before.credentials), ...Object.keys(after.credentials)]);
  return [...names].filter((n) => JSON.stringify(before.credentials[n]) !== JSON.stringify(after.credentials[n]));
}
