// Sessions of the admin page: a login (a credential of group access_to_admin,
// checked by the same Authenticator as the API) gets a random session id, sent
// back only as an HttpOnly SameSite=Strict cookie, and a CSRF token that the
// page sends in a header with every action. In memory, per replica.
//
// A session stays valid only while what it was opened with still holds: the
// credential still exists and has access_to_admin, and its password hash (or
// the token it logged in with) is unchanged. So removing the group, changing
// the password or revoking the token ends the sessions at once.
import { randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'k8smgr_admin';
export const ADMIN_GROUP = 'access_to_admin';

/** What a session was opened with: the password hash, or the id of the token. */
export type SessionProof = { kind: 'password'; hash: string } | { kind: 'token'; id: string };

export interface Session {
  id: string;
  credential: string;
  csrf: string;
  proof: SessionProof;
  created: number;
  lastUsed: number;
}

/** What a session is checked against on each use (the credential store's snapshot fits). */
export interface CredentialView {
  /** The credential's groups, password hash and token ids; undefined when it is gone. */
  entry(name: string): { groups: readonly string[]; password?: string; tokens: ReadonlyArray<{ id: string }> } | undefined;
}

export interface SessionOptions {
  /** A session unused this long ends (default 30 min). */
  idleMs?: number;
  /** A session ends this long after login whatever happens (default 8 h). */
  maxAgeMs?: number;
  /** Most sessions kept; the least recently used is dropped first (default 1000). */
  maxSessions?: number;
  now?: () => number;
}

export class SessionStore {
  readonly #sessions = new Map<string, Session>();
  readonly #credentials: CredentialView;
  readonly #idleMs: number;
  readonly #maxAgeMs: number;
  readonly #max: number;
  readonly #now: () => number;

  constructor(credentials: CredentialView, opts: SessionOptions = {}) {
    this.#credentials = credentials;
    this.#idleMs = opts.idleMs ?? 30 * 60_000;
    this.#maxAgeMs = opts.maxAgeMs ?? 8 * 3600_000;
    this.#max = opts.maxSessions ?? 1000;
    this.#now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Seconds a fresh session may live (the cookie's Max-Age). */
  get maxAgeSeconds(): number {
    return Math.floor(this.#maxAgeMs / 1000);
  }

  open(credential: string, proof: SessionProof): Session {
    const now = this.#now();
    const session: Session = { id: randomToken(), credential, csrf: randomToken(), proof, created: now, lastUsed: now };
    this.#sessions.set(session.id, session);
    while (this.#sessions.size > this.#max) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest === undefined) break;
      this.#sessions.delete(oldest);
    }
    return session;
  }

  /** The live session of this id (touched), or undefined: unknown, expired, or no longer backed by its credential. */
  use(id: string | undefined, touch = true): Session | undefined {
    if (!id) return undefined;
    const session = this.#sessions.get(id);
    if (!session) return undefined;
    const now = this.#now();
    if (now - session.lastUsed > this.#idleMs || now - session.created > this.#maxAgeMs || !this.#backed(session)) {
      this.#sessions.delete(id);
      return undefined;
    }
    if (touch) {
      session.lastUsed = now;
      // Most recently used last: the eviction in open() drops the least recently used.
      this.#sessions.delete(id);
      this.#sessions.set(id, session);
    }
    return session;
  }

  close(id: string | undefined): void {
    if (id) this.#sessions.delete(id);
  }

  #backed(session: Session): boolean {
    const entry = this.#credentials.entry(session.credential);
    if (!entry || !entry.groups.includes(ADMIN_GROUP)) return false;
    if (session.proof.kind === 'password') return entry.password === session.proof.hash;
    const id = session.proof.id;
    return entry.tokens.some((t) => t.id === id);
  }
}

/** Constant-time comparison of the CSRF header with the session's token. */
export function csrfMatches(session: Session, presented: string | string[] | undefined): boolean {
  if (typeof presented !== 'string') return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(session.csrf);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The value of one cookie from a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookie(session: Session | undefined, opts: { secure: boolean; maxAgeSeconds: number }): string {
  const attributes = ['Path=/admin/', 'HttpOnly', 'SameSite=Strict', ...(opts.secure ? ['Secure'] : [])];
  if (!session) return [`${SESSION_COOKIE}=`, 'Max-Age=0', ...attributes].join('; ');
  return [`${SESSION_COOKIE}=${session.id}`, `Max-Age=${opts.maxAgeSeconds}`, ...attributes].join('; ');
}

function randomToken(): string {
  return randomBytes(32).toString('base64url');
}
