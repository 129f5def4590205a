// Sessions of the admin page: a login (a credential of group access_to_admin,
// checked by the same Authenticator as the API) gets a random session id, sent
// back only as an HttpOnly SameSite=Strict cookie, and a CSRF token that the
// page sends in a header with every action. Kept in a SessionBook (in the
// cluster, session-book.ts) under the id's SHA-256, so every replica knows
// every session and the book holds nothing that opens one.
//
// A session stays valid only while what it was opened with still holds: the
// credential still exists and has access_to_admin, and its password hash (or
// the token it logged in with) is unchanged. So removing the group, changing
// the password or revoking the token ends the sessions at once.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { MemorySessionBook, type SessionBook, type SessionMap } from './session-book.js';

export const SESSION_COOKIE = 'k8smgr_admin';
export const ADMIN_GROUP = 'access_to_admin';

/** What a session was opened with: the password hash, or the id of the token. */
export type SessionProof = { kind: 'password'; hash: string } | { kind: 'token'; id: string };

/** A session as the book keeps it: no id, and a digest of the proof instead of the proof. */
export interface StoredSession {
  credential: string;
  csrf: string;
  proof: { kind: SessionProof['kind']; digest: string };
  created: number;
  lastUsed: number;
}

export interface Session extends StoredSession {
  id: string;
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
  /** Most sessions kept; the least recently used is dropped first (default 200: every write rewrites them all, about 250 bytes each). */
  maxSessions?: number;
  /** A use is written to the book at most this often per session (default a tenth of idleMs, at most 1 min). */
  touchEveryMs?: number;
  now?: () => number;
  /** Told when a background write (a use, an expiry) failed. */
  onError?: (err: Error) => void;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');
const digestOf = (proof: SessionProof) => sha256(`${proof.kind}:${proof.kind === 'password' ? proof.hash : proof.id}`);

export class SessionStore {
  readonly #book: SessionBook;
  readonly #credentials: CredentialView;
  readonly #idleMs: number;
  readonly #maxAgeMs: number;
  readonly #max: number;
  readonly #touchEveryMs: number;
  readonly #now: () => number;
  readonly #onError: (err: Error) => void;

  constructor(credentials: CredentialView, opts: SessionOptions = {}, book: SessionBook = new MemorySessionBook()) {
    this.#book = book;
    this.#credentials = credentials;
    this.#idleMs = opts.idleMs ?? 30 * 60_000;
    this.#maxAgeMs = opts.maxAgeMs ?? 8 * 3600_000;
    this.#max = opts.maxSessions ?? 200;
    this.#touchEveryMs = opts.touchEveryMs ?? Math.min(60_000, this.#idleMs / 10);
    this.#now = opts.now ?? Date.now;
    this.#onError = opts.onError ?? (() => undefined);
  }

  /** Sessions in the book (live or not yet pruned). */
  get size(): number {
    return this.#book.size;
  }

  /** Seconds a fresh session may live (the cookie's Max-Age). */
  get maxAgeSeconds(): number {
    return Math.floor(this.#maxAgeMs / 1000);
  }

  start(): void {
    this.#book.start();
  }

  stop(): void {
    this.#book.stop();
  }

  /** Opens a session and writes it to the book (pruning the ended ones, keeping at most maxSessions). */
  async open(credential: string, proof: SessionProof): Promise<Session> {
    const now = this.#now();
    const id = randomToken();
    const stored: StoredSession = { credential, csrf: randomToken(), proof: { kind: proof.kind, digest: digestOf(proof) }, created: now, lastUsed: now };
    const key = sha256(id);
    await this.#book.change((sessions) => {
      const live = Object.entries(sessions).filter(([, s]) => !this.#expired(s, now));
      // The least recently used go first (ties: the oldest login).
      live.sort(([, a], [, b]) => b.lastUsed - a.lastUsed || b.created - a.created);
      return Object.fromEntries([[key, stored], ...live.slice(0, this.#max - 1)]) as SessionMap;
    });
    return { id, ...stored };
  }

  /**
   * The live session of this id as this process knows it (no I/O), or
   * undefined: unknown, expired, or no longer backed by its credential. A use
   * is written to the book now and then (touchEveryMs), in the background.
   */
  use(id: string | undefined, touch = true): Session | undefined {
    if (!id) return undefined;
    const key = sha256(id);
    const stored = this.#book.get(key);
    if (!stored) return undefined;
    const now = this.#now();
    if (this.#expired(stored, now) || !this.#backed(stored)) {
      this.#write((sessions) => (Object.hasOwn(sessions, key) ? withoutKey(sessions, key) : undefined));
      return undefined;
    }
    if (touch && now - stored.lastUsed >= this.#touchEveryMs) {
      this.#write((sessions) => {
        const current = sessions[key];
        return current && current.lastUsed < now ? { ...sessions, [key]: { ...current, lastUsed: now } } : undefined;
      });
    }
    return { id, ...stored };
  }

  /** As use(), and on a miss reads the book once: the session may have been opened on another replica a moment ago. */
  async find(id: string | undefined, touch = true): Promise<Session | undefined> {
    if (!id) return undefined;
    const known = this.use(id, touch);
    if (known || this.#book.get(sha256(id))) return known;
    // Unreadable now (no apiserver): a session this process never saw is unknown, as without the read.
    await this.#book.refresh().catch((err: unknown) => this.#onError(err as Error));
    return this.use(id, touch);
  }

  /** Ends a session on every replica. */
  async close(id: string | undefined): Promise<void> {
    if (!id) return;
    const key = sha256(id);
    await this.#book.change((sessions) => (Object.hasOwn(sessions, key) ? withoutKey(sessions, key) : undefined));
  }

  #expired(s: StoredSession, now: number): boolean {
    return now - s.lastUsed > this.#idleMs || now - s.created > this.#maxAgeMs;
  }

  #write(change: (sessions: SessionMap) => SessionMap | undefined): void {
    this.#book.change(change).catch((err: unknown) => this.#onError(err as Error));
  }

  #backed(session: StoredSession): boolean {
    const entry = this.#credentials.entry(session.credential);
    if (!entry || !entry.groups.includes(ADMIN_GROUP)) return false;
    const { kind, digest } = session.proof;
    if (kind === 'password') return entry.password !== undefined && digestOf({ kind, hash: entry.password }) === digest;
    return entry.tokens.some((t) => digestOf({ kind, id: t.id }) === digest);
  }
}

function withoutKey(sessions: SessionMap, key: string): SessionMap {
  const { [key]: _gone, ...rest } = sessions;
  return rest;
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
