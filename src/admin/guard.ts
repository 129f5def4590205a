// Who may use /admin/api/ and how actions are protected against cross-site
// requests:
//   * a session cookie (HttpOnly, SameSite=Strict, Path=/admin/) from the login
//     form, or an Authorization header (Basic or token, as the API takes);
//   * the credential needs the group access_to_admin (403 otherwise);
//   * every action (POST, PATCH, PUT, DELETE) must come from the page's own
//     origin (Origin / Sec-Fetch-Site checked) and carry the session's token in
//     X-CSRF-Token; with an Authorization header instead of a session, the
//     header X-K8smgr-Admin: 1, which no cross-site form can send.
// 401 answers carry no WWW-Authenticate: the browser must not open its own
// Basic prompt (whose credentials it would then send on its own).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator, Principal } from '../auth/types.js';
import { forbidden, HttpError, throttled } from '../http/errors.js';
import { ADMIN_GROUP, cookieValue, csrfMatches, SESSION_COOKIE, sessionCookie, type Session, type SessionStore } from './sessions.js';

export const unauthenticated = () => new HttpError(401, { detail: 'Log in with a credential of the group access_to_admin.' });
const crossSite = () => new HttpError(403, { detail: 'Cross-site request refused.' });
const csrfMissing = () => new HttpError(403, { detail: 'Missing or wrong X-CSRF-Token: reload the page.' });

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface AdminCaller {
  principal: Principal;
  session?: Session;
}

export class AdminGuard {
  readonly #sessions: SessionStore;
  readonly #authenticator: Authenticator;
  readonly #callers = new WeakMap<FastifyRequest, AdminCaller>();

  constructor(sessions: SessionStore, authenticator: Authenticator) {
    this.#sessions = sessions;
    this.#authenticator = authenticator;
  }

  /** onRequest hook of every /admin/api/ route but the login. */
  readonly check = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const caller = await this.#identify(request, reply);
    if (!SAFE.has(request.method)) {
      if (!sameOrigin(request)) throw crossSite();
      if (caller.session ? !csrfMatches(caller.session, request.headers['x-csrf-token']) : request.headers['x-k8smgr-admin'] !== '1') {
        throw csrfMissing();
      }
    }
    request.principal = caller.principal;
    this.#callers.set(request, caller);
  };

  caller(request: FastifyRequest): AdminCaller {
    const caller = this.#callers.get(request);
    if (!caller) throw unauthenticated();
    return caller;
  }

  /** The session of the request's cookie, if live (without touching it). */
  session(request: FastifyRequest): Session | undefined {
    return this.#sessions.use(cookieValue(request.headers.cookie, SESSION_COOKIE), false);
  }

  async #identify(request: FastifyRequest, reply: FastifyReply): Promise<AdminCaller> {
    const id = cookieValue(request.headers.cookie, SESSION_COOKIE);
    const session = await this.#sessions.find(id);
    if (session) return { principal: { credential: session.credential, groups: new Set([ADMIN_GROUP]) }, session };
    // A cookie that no longer names a session: tell the browser to drop it.
    if (id) void reply.header('set-cookie', sessionCookie(undefined, { secure: isSecure(request), maxAgeSeconds: 0 }));
    if (request.headers.authorization === undefined && request.headers.authentication === undefined) throw unauthenticated();
    const outcome = await this.#authenticator.authenticate(request.headers, request.ip);
    if (!outcome.ok) {
      if (outcome.reason === 'throttled') throw throttled(outcome.retryAfterSeconds);
      throw unauthenticated();
    }
    if (!outcome.principal.groups.has(ADMIN_GROUP)) throw forbidden(ADMIN_GROUP);
    return { principal: outcome.principal };
  }
}

/** The request comes from a page of this origin (or from no browser page at all). */
export function sameOrigin(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return false;
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/** Cookies get Secure when the page is served over HTTPS (directly, or as the browser's Origin says). */
export function isSecure(request: FastifyRequest): boolean {
  return request.protocol === 'https' || (typeof request.headers.origin === 'string' && request.headers.origin.startsWith('https://'));
}
