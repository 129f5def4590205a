// The Authenticator of the HTTP layer: parses what the request presents,
// refuses throttled sources, verifies against the credential store, and
// remembers verified secrets (by a sha256 of credential + secret, never the
// secret itself) so that a hub polling every few seconds costs no scrypt. A
// remembered verification holds only while the stored hash it was checked
// against is still the stored hash, and is dropped when that credential changes.
import { createHash } from 'node:crypto';
import type { AppLogger } from '../logging/logger.js';
import type { Authenticator, AuthOutcome, HeaderBag, Principal } from './types.js';
import type { CredentialSource } from './store.js';
import { findToken, type CredentialDoc } from './document.js';
import { parseAuthHeader, tokenId, type Presented } from './headers.js';
import { LoginThrottle } from './throttle.js';

export interface AuthenticatorOptions {
  store: CredentialSource;
  throttle?: LoginThrottle;
  logger?: AppLogger;
  /** Most remembered verifications (oldest forgotten first). */
  cacheSize?: number;
}

interface Verified {
  credential: string;
  /** The stored hash the secret was verified against. */
  hash: string;
}

interface Match {
  credential: string;
  hash: string | undefined;
  secret: string;
  cacheKey: string;
}

export class CredentialAuthenticator implements Authenticator {
  readonly #store: CredentialSource;
  readonly #throttle: LoginThrottle;
  readonly #logger: AppLogger | undefined;
  readonly #cacheSize: number;
  readonly #cache = new Map<string, Verified>();
  readonly #inflight = new Map<string, Promise<boolean>>();
  readonly #unsubscribe: () => void;
  /** Last successful request per credential and per token id (this replica, in memory; for the admin page). */
  readonly #lastRequest = new Map<string, number>();

  constructor(opts: AuthenticatorOptions) {
    this.#store = opts.store;
    this.#throttle = opts.throttle ?? new LoginThrottle();
    this.#logger = opts.logger;
    this.#cacheSize = opts.cacheSize ?? 10_000;
    this.#unsubscribe = this.#store.onChange((changed) => this.#forget(new Set(changed)));
  }

  /** Number of remembered verifications (for tests and metrics). */
  get cacheSize(): number {
    return this.#cache.size;
  }

  close(): void {
    this.#unsubscribe();
    this.#cache.clear();
  }

  async authenticate(headers: HeaderBag, source: string): Promise<AuthOutcome> {
    const presented = parseAuthHeader(headers);
    if (presented.kind === 'missing') return { ok: false, reason: 'missing' };
    const wait = this.#throttle.retryAfter(source);
    if (wait > 0) {
      this.#logger?.warning({ source, retry_after: wait }, 'login refused: too many failed logins from this source');
      return { ok: false, reason: 'throttled', retryAfterSeconds: wait };
    }
    const checkedVersion = this.#store.snapshot().version;
    let principal = await this.#check(presented);
    if (!principal && presented.kind !== 'malformed') {
      // Unknown or mismatching here but maybe just created or changed by another
      // replica, and the watch has not told us yet: re-read once (rate-limited),
      // and check again if the document has changed since the first check.
      if (this.#store.snapshot().version === checkedVersion) await this.#store.refresh();
      if (this.#store.snapshot().version !== checkedVersion) principal = await this.#check(presented);
    }
    if (principal) {
      this.#noteRequest(principal.credential, presented);
      return { ok: true, principal };
    }
    this.#throttle.recordFailure(source);
    this.#logger?.warning({ source, scheme: presented.kind, user: this.#knownUser(presented) }, 'login failed');
    return { ok: false, reason: 'invalid' };
  }

  async #check(presented: Presented): Promise<Principal | undefined> {
    const doc = this.#store.snapshot().doc;
    const match = this.#match(doc, presented);
    if (!match) return undefined;
    const entry = doc.credentials[match.credential];
    if (!entry || match.hash === undefined) {
      // Same work as a wrong password, so timing does not tell which names exist.
      await this.#store.hasher.dummyVerify(match.secret);
      return undefined;
    }
    const cached = this.#cache.get(match.cacheKey);
    if (cached && cached.credential === match.credential && cached.hash === match.hash) {
      return { credential: match.credential, groups: new Set(entry.groups) };
    }
    if (!(await this.#verify(match.secret, match.hash, match.cacheKey))) return undefined;
    // The entry may have changed while we hashed: answer from the current one.
    const now = this.#store.snapshot().doc;
    const current = now.credentials[match.credential];
    const stillMatches = this.#match(now, presented)?.hash === match.hash;
    if (!current || !stillMatches) return undefined;
    this.#remember(match.cacheKey, { credential: match.credential, hash: match.hash });
    return { credential: match.credential, groups: new Set(current.groups) };
  }

  #match(doc: CredentialDoc, presented: Presented): Match | undefined {
    if (presented.kind === 'basic') {
      return {
        credential: presented.user,
        hash: doc.credentials[presented.user]?.password,
        secret: presented.password,
        cacheKey: digest('basic', presented.user, presented.password),
      };
    }
    if (presented.kind === 'token') {
      const id = tokenId(presented.token);
      // Not our token format: nothing can match, and no hashing is spent on it.
      if (id === undefined) return undefined;
      const found = findToken(doc, id);
      if (!found) return undefined;
      return { credential: found.credential, hash: found.token.hash, secret: presented.token, cacheKey: digest('token', found.credential, presented.token) };
    }
    return undefined;
  }

  /** One scrypt per distinct secret even when many requests present it at once. */
  #verify(secret: string, hash: string, cacheKey: string): Promise<boolean> {
    const key = `${cacheKey}:${hash}`;
    let pending = this.#inflight.get(key);
    if (!pending) {
      pending = this.#store.hasher.verify(secret, hash).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    return pending;
  }

  #remember(key: string, verified: Verified): void {
    this.#cache.delete(key);
    this.#cache.set(key, verified);
    while (this.#cache.size > this.#cacheSize) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest);
    }
  }

  /**
   * When this replica last answered a request of each credential (`credential`) and of
   * each token (`token:<id>`), as epoch milliseconds. In memory: a restart starts afresh.
   */
  lastRequests(): ReadonlyMap<string, number> {
    return new Map(this.#lastRequest);
  }

  #noteRequest(credential: string, presented: Presented): void {
    const now = Date.now();
    const id = presented.kind === 'token' ? tokenId(presented.token) : undefined;
    for (const key of id === undefined ? [credential] : [credential, `token:${id}`]) {
      this.#lastRequest.delete(key); // re-inserted last: the map stays ordered oldest first
      this.#lastRequest.set(key, now);
    }
    // Bounded like the verification cache: forget the oldest entries first.
    while (this.#lastRequest.size > this.#cacheSize) {
      const oldest = this.#lastRequest.keys().next().value;
      if (oldest === undefined) break;
      this.#lastRequest.delete(oldest);
    }
  }

  #forget(credentials: Set<string>): void {
    for (const [key, verified] of this.#cache) if (credentials.has(verified.credential)) this.#cache.delete(key);
  }

  /** The user name of a failed Basic login, only when it names a credential (never echo a typo'd password). */
  #knownUser(presented: Presented): string | undefined {
    if (presented.kind !== 'basic') return undefined;
    return this.#store.snapshot().doc.credentials[presented.user] ? presented.user : undefined;
  }
}

function digest(kind: string, credential: string, secret: string): string {
  return createHash('sha256').update(kind).update('\0').update(credential).update('\0').update(secret).digest('base64');
}
