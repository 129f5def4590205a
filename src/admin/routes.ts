// /admin/: the operators' page (static files) and its JSON API under
// /admin/api/. Routes are thin: check the input, one call into the manager's
// rooms, shape the answer. Who may call them: see guard.ts.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../http/app.js';
import { forbidden, HttpError, throttled } from '../http/errors.js';
import { invalidInput, notFoundError, conflictError, unavailableError } from '../errors.js';
import { isCredentialName } from '../auth/document.js';
import { tokenId } from '../auth/headers.js';
import { redact } from '../logging/redact.js';
import { LEVELS, LEVEL_OFF } from '../logging/levels.js';
import type { Principal } from '../auth/types.js';
import type { Asset } from './assets.js';
import type { LiveFeed } from './feed.js';
import { AdminGuard, isSecure, sameOrigin } from './guard.js';
import { processStartTime } from './procstart.js';
import { readRenderedCopy } from './rendered.js';
import { ADMIN_GROUP, cookieValue, SESSION_COOKIE, sessionCookie, type SessionStore } from './sessions.js';
import type { EventStreams } from './stream.js';
import type { AdminDeps } from './types.js';
import { eventRows, objectViews, podSummary, progressLog, serviceRow, unescapeHtml } from './views.js';

export interface AdminParts {
  deps: AdminDeps;
  assets: Map<string, Asset>;
  sessions: SessionStore;
  feed: LiveFeed;
  streams: EventStreams;
}

/** Headers of every /admin/ answer: no framing, no sniffing, no referrer, scripts and styles only from here. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const K8S_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const TOKEN_ID = /^[0-9a-f]{16}$/;
const LEVEL_VALUES = [...Object.values(LEVELS), LEVEL_OFF];
const hidden = { hide: true };

export async function adminRoutes(app: App, parts: AdminParts): Promise<void> {
  const { deps, assets, sessions, feed, streams } = parts;
  const guard = new AdminGuard(sessions, deps.authenticator);
  const check = { onRequest: guard.check };
  const log = deps.logger.child({ component: 'admin' });

  app.addHook('onSend', async (_request, reply) => {
    void reply.headers(SECURITY_HEADERS);
    if (!reply.getHeader('cache-control')) void reply.header('cache-control', 'no-store');
  });
  app.addHook('preClose', async () => streams.closeAll());

  // ---- the page
  const sendAsset = (request: FastifyRequest, reply: FastifyReply, name: string) => {
    const asset = assets.get(name);
    if (!asset && name === 'index.html') throw unavailableError('The admin page is not installed.', 'its static files were not found (see docs/admin.md)');
    if (!asset) throw notFoundError('Not found.');
    void reply.header('etag', asset.etag).header('cache-control', 'no-cache').type(asset.type);
    if (request.headers['if-none-match'] === asset.etag) return reply.status(304).send();
    return reply.send(asset.body);
  };
  app.get('/admin/', { schema: hidden }, async (request, reply) => {
    // Relative links of the page need the trailing slash.
    if (!request.url.split('?')[0]!.endsWith('/')) return reply.redirect('/admin/', 301);
    return sendAsset(request, reply, 'index.html');
  });
  app.get<{ Params: { name: string } }>('/admin/static/:name', { schema: hidden }, async (request, reply) => sendAsset(request, reply, request.params.name));

  // ---- login, session, logout
  app.post('/admin/api/login', { schema: hidden, config: { action: 'admin-login' } }, async (request, reply) => {
    if (!sameOriginLogin(request)) throw new HttpError(403, { detail: 'Cross-site request refused.' });
    const body = (request.body ?? {}) as Record<string, unknown>;
    const header = loginHeader(body);
    const outcome = await deps.authenticator.authenticate({ authorization: header.value }, request.ip);
    if (!outcome.ok) {
      if (outcome.reason === 'throttled') throw throttled(outcome.retryAfterSeconds);
      throw new HttpError(401, { detail: 'Wrong credential, password or token.' });
    }
    const principal = outcome.principal;
    request.principal = principal;
    if (!principal.groups.has(ADMIN_GROUP)) throw forbidden(ADMIN_GROUP);
    const entry = deps.credentials.snapshot().doc.credentials[principal.credential];
    const proof = header.token !== undefined
      ? { kind: 'token' as const, id: tokenId(header.token) ?? '' }
      : { kind: 'password' as const, hash: entry?.password ?? '' };
    // Sessions live in the cluster: without it no session can be opened (the API's Authorization header still works).
    const session = await sessions.open(principal.credential, proof).catch((err: unknown) => {
      throw unavailableError('Could not open a session now, try again.', (err as Error).message);
    });
    log.info({ admin: principal.credential, via: proof.kind, source: request.ip }, 'admin page: logged in');
    void reply.header('set-cookie', sessionCookie(session, { secure: isSecure(request), maxAgeSeconds: sessions.maxAgeSeconds }));
    return { credential: principal.credential, csrf: session.csrf, replica: deps.identity.name };
  });
  app.get('/admin/api/session', { schema: hidden, ...check }, async (request) => {
    const caller = guard.caller(request);
    return { credential: caller.principal.credential, csrf: caller.session?.csrf ?? null, replica: deps.identity.name };
  });
  app.post('/admin/api/logout', { schema: hidden, ...check }, async (request, reply) => {
    await sessions.close(cookieValue(request.headers.cookie, SESSION_COOKIE)).catch((err: unknown) => {
      throw unavailableError('Could not end the session now, try again.', (err as Error).message);
    });
    void reply.header('set-cookie', sessionCookie(undefined, { secure: isSecure(request), maxAgeSeconds: 0 }));
    return reply.status(204).send();
  });

  // ---- services
  app.get('/admin/api/stream', { schema: hidden, ...check }, async (request, reply) => {
    const caller = guard.caller(request);
    const sessionId = caller.session?.id;
    reply.hijack();
    // A stream opened with a session lives as long as the session; with a header, until it closes.
    streams.serve(reply.raw, { ...SECURITY_HEADERS }, () => sessionId === undefined || sessions.use(sessionId) !== undefined);
  });
  app.get('/admin/api/services', { schema: hidden, ...check }, async () => feed.snapshot());
  app.get<{ Params: { id: string } }>('/admin/api/services/:id', { schema: hidden, ...check }, async (request) => {
    const found = findService(request.params.id);
    const { record, anchor } = found;
    const id = anchor.metadata.name;
    let verdict = deps.services.verdictOf(record, anchor);
    let source: 'cache' | 'poll' = 'cache';
    if (verdict.state === 'failed' && deps.services.poll) {
      // The answer the hub got, with the failed container's log tail (read once, remembered by the manager).
      try {
        verdict = await deps.services.poll(ownerOf(record.jhub_credential), record.servername);
        source = 'poll';
      } catch (err) {
        log.warning({ uuidcode: record.servername, err: (err as Error).message }, 'admin page: poll for the details failed');
      }
    }
    const pods = deps.cache.podsOf(id, record.start_id);
    const cfg = deps.config();
    return {
      row: feed.row(id) ?? serviceRow(record, anchor, pods, verdict, cfg.services.container_main_name),
      record: {
        servername: record.servername, start_id: record.start_id, jhub_credential: record.jhub_credential, jhub_user_id: record.jhub_user_id,
        start_date: record.start_date, user_options: redact(record.user_options), namespace: record.namespace ?? null,
        // Which API started it (the Outpost API's words for the start; nothing secret in them).
        ...(record.outpost ? { outpost: record.outpost } : {}),
      },
      verdict: { state: verdict.state, error: verdict.details.error, detail: unescapeHtml(verdict.details.detailed_error), source },
      pods: pods.map(podSummary),
      events: eventRows(pods.map((p) => ({ pod: p.metadata.name, events: deps.cache.eventsOf(p.metadata.name) }))),
      objects: objectViews(record),
      progress: progressLog(anchor) ?? null,
      rendered: await readRenderedCopy(cfg.services.base, record.servername, record.start_id),
    };
  });
  app.post<{ Params: { id: string } }>('/admin/api/services/:id/stop', { schema: hidden, ...check, config: { action: 'admin-stop' } }, async (request, reply) => {
    const { record } = findService(request.params.id);
    const body = (request.body ?? {}) as { start_id?: unknown };
    // The stop is meant for the start the operator saw: a newer start of that servername is not stopped.
    if (body.start_id !== undefined && body.start_id !== record.start_id) {
      throw conflictError(`${record.servername} was started again meanwhile (start ${record.start_id}); reload its details.`);
    }
    const admin = guard.caller(request).principal.credential;
    log.info({ admin, credential: record.jhub_credential, uuidcode: record.servername, start_id: record.start_id }, 'admin page: stopping a service');
    await deps.services.stop(ownerOf(record.jhub_credential), record.servername);
    return reply.status(204).send();
  });

  // ---- hubs (credentials)
  app.get('/admin/api/hubs', { schema: hidden, ...check }, async () => {
    const last = deps.lastRequests?.() ?? new Map<string, number>();
    const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
    const all = await deps.credentials.list();
    return {
      credentials: all.map((c) => ({
        name: c.name,
        groups: c.groups,
        hasPassword: c.hasPassword,
        updated: c.updated,
        lastRequest: iso(last.get(c.name)),
        tokens: c.tokens.map((t) => ({ id: t.id, created: t.created, lastRequest: iso(last.get(`token:${t.id}`)) })),
      })),
      lastRequestScope: 'this replica, since it started',
    };
  });
  app.post<{ Params: { name: string } }>('/admin/api/hubs/:name/tokens', { schema: hidden, ...check, config: { action: 'admin-token' } }, async (request, reply) => {
    const name = credentialParam(request.params.name);
    let token: string;
    try {
      token = await deps.credentials.createToken(name);
    } catch (err) {
      if ((err as Error).name === 'CredentialError') throw notFoundError(`No credential named ${name}.`);
      throw err;
    }
    const id = tokenId(token) ?? '';
    log.info({ admin: guard.caller(request).principal.credential, credential: name, token_id: id }, 'admin page: token created');
    return reply.status(201).header('cache-control', 'no-store').send({ credential: name, id, token });
  });
  app.delete<{ Params: { name: string; id: string } }>('/admin/api/hubs/:name/tokens/:id', { schema: hidden, ...check, config: { action: 'admin-revoke' } }, async (request, reply) => {
    const name = credentialParam(request.params.name);
    const id = request.params.id;
    if (!TOKEN_ID.test(id)) throw invalidInput('A token id is 16 hexadecimal digits.');
    let done: boolean;
    try {
      done = await deps.credentials.revokeToken(name, id);
    } catch (err) {
      if ((err as Error).name === 'CredentialError') throw notFoundError(`No credential named ${name}.`);
      throw err;
    }
    if (!done) throw notFoundError(`No token ${id} of ${name}.`);
    log.info({ admin: guard.caller(request).principal.credential, credential: name, token_id: id }, 'admin page: token revoked');
    return reply.status(204).send();
  });

  // ---- logging
  const logs = () => {
    if (!deps.logs) throw notFoundError('The log handlers are not configurable in this manager.');
    return deps.logs;
  };
  const handlerViews = () => {
    const admin = logs();
    const status = admin.status().handlers;
    return Object.entries(admin.list()).map(([type, configuration]) => ({ type, configuration: redact(configuration), ...(status[type] ?? { active: false }) }));
  };
  app.get('/admin/api/logging', { schema: hidden, ...check }, async () => ({
    handlers: handlerViews(),
    levels: LEVEL_VALUES.map((value) => ({ value, name: value === LEVEL_OFF ? 'off' : Object.entries(LEVELS).find(([, v]) => v === value)![0].toUpperCase() })),
  }));
  app.patch<{ Params: { type: string } }>('/admin/api/logging/:type', { schema: hidden, ...check, config: { action: 'admin-log-level' } }, async (request) => {
    const level = ((request.body ?? {}) as { level?: unknown }).level;
    if (typeof level !== 'number' || !LEVEL_VALUES.includes(level)) throw invalidInput(`level must be one of ${LEVEL_VALUES.join(', ')}`);
    await logs().patch(request.params.type, { level });
    log.info({ admin: guard.caller(request).principal.credential, handler: request.params.type, level }, 'admin page: log level changed');
    return { handlers: handlerViews() };
  });
  app.post('/admin/api/logging/logtest', { schema: hidden, ...check, config: { action: 'admin-logtest' } }, async (request, reply) => {
    log.info({ admin: guard.caller(request).principal.credential }, 'admin page: log test');
    logs().logtest();
    return reply.status(204).send();
  });

  // ---- userjobs
  app.get('/admin/api/userjobs', { schema: hidden, ...check }, async () => {
    const uj = deps.userjobs;
    if (!uj) return { enabled: false, systems: {}, forwards: 0, userjobs: [] };
    const credentials = new Set<string>();
    for (const { record } of deps.cache.all()) credentials.add(record.jhub_credential);
    const userjobs = [...credentials].sort().flatMap((credential) => uj.list(ownerOf(credential)).map((view) => ({ credential, ...view })));
    const status = uj.status();
    // Last restart: what the supervisor records, else when the running master process started.
    const systems = Object.fromEntries(await Promise.all(Object.entries(status.systems).map(async ([system, st]) =>
      [system, { ...st, last_restart: st.last_restart ?? (st.pid ? ((await processStartTime(st.pid)) ?? null) : null) }] as const)));
    return { enabled: uj.enabled, systems, forwards: status.forwards, userjobs };
  });

  // ---- replicas
  app.get('/admin/api/replicas', { schema: hidden, ...check }, async () => {
    const source = deps.replicas;
    const self = deps.identity;
    if (!source) return { mode: 'single replica', self, replicas: [{ name: self.name, ...(self.process ? { process: self.process } : {}), self: true, ready: true }], leaseHolder: null };
    const replicas = await source.replicas();
    return { mode: 'replicas', self, replicas, leaseHolder: source.leaseHolder?.() ?? null };
  });

  function findService(id: string) {
    if (!K8S_NAME.test(id)) throw notFoundError('Not found.');
    const found = deps.cache.byAnchor(id);
    if (!found) throw notFoundError('No such service (it may have been stopped).');
    return found;
  }
}

/** The hub's own principal: what the manager's service calls check ownership with. */
function ownerOf(credential: string): Principal {
  return { credential, groups: new Set(['access_to_webservice']) };
}

function credentialParam(name: string): string {
  if (!isCredentialName(name)) throw notFoundError('Not found.');
  return name;
}

/** The login form's fields as the Authorization header the API would get. */
function loginHeader(body: Record<string, unknown>): { value: string; token?: string } {
  const { credential, password, token } = body;
  if (typeof token === 'string' && token !== '') {
    if (token.length > 512) throw invalidInput('token is too long');
    return { value: `token ${token}`, token };
  }
  if (typeof credential !== 'string' || typeof password !== 'string' || credential === '' || password === '') {
    throw invalidInput('Give a credential and its password, or a token.');
  }
  if (!isCredentialName(credential) || password.length > 1024) throw new HttpError(401, { detail: 'Wrong credential, password or token.' });
  return { value: `Basic ${Buffer.from(`${credential}:${password}`).toString('base64')}` };
}

/** The login may come only from this origin's page (or a non-browser client), with a JSON body. */
function sameOriginLogin(request: FastifyRequest): boolean {
  const type = request.headers['content-type'] ?? '';
  return type.toLowerCase().startsWith('application/json') && sameOrigin(request);
}
