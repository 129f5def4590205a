// The admin routes through Fastify's inject(), with stand-ins for the
// manager's rooms: who gets in, CSRF and origin checks on actions, the page's
// files, and that a missing static folder does not stop the manager.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { createAdmin } from '../../../src/admin/index.js';
import type { AdminDeps } from '../../../src/admin/types.js';
import type { SessionBook } from '../../../src/admin/session-book.js';
import type { App } from '../../../src/http/app.js';
import { HttpError, toHttpError } from '../../../src/http/errors.js';
import { isDomainError } from '../../../src/errors.js';
import type { AuthOutcome, Group, HeaderBag } from '../../../src/auth/types.js';
import type { AppLogger } from '../../../src/logging/logger.js';
import type { KubeObject } from '../../../src/kube/gateway.js';
import type { ServiceRecord } from '../../../src/services/types.js';

const silent = new Proxy({}, { get: (_t, name) => (name === 'child' ? () => silent : () => undefined) }) as unknown as AppLogger;

const users: Record<string, { password: string; groups: Group[] }> = {
  ops: { password: 'ops-pw', groups: ['access_to_admin'] },
  hub: { password: 'hub-pw', groups: ['access_to_webservice'] },
};

const record: ServiceRecord = {
  servername: 'lab-1', start_id: 'abcd0001', user_options: { service: 'lab/ok', api_token: 'hidden-value' }, jhub_user_id: 7,
  jhub_credential: 'hub', start_date: new Date().toISOString(), stop_pending: false, objects: ['v1|Secret/s'],
};
const anchor: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'k8smgr-1234-lab-1', uid: 'u1' } };

async function build(opts: { staticDir?: string; sessionBook?: SessionBook } = {}) {
  const stopped: string[] = [];
  const deps: AdminDeps = {
    logger: silent,
    authenticator: {
      async authenticate(headers: HeaderBag): Promise<AuthOutcome> {
        const value = String(headers.authorization ?? '');
        const [user, password] = Buffer.from(value.replace(/^Basic /, ''), 'base64').toString().split(':');
        const entry = users[user ?? ''];
        if (!value.startsWith('Basic ') || !entry || entry.password !== password) return { ok: false, reason: 'invalid' };
        return { ok: true, principal: { credential: user!, groups: new Set(entry.groups) } };
      },
    },
    credentials: {
      list: async () => [],
      createToken: async () => 'k8smgr_0123456789abcdef_x',
      revokeToken: async () => true,
      snapshot: () => ({
        version: '1',
        doc: { version: 1, credentials: Object.fromEntries(Object.entries(users).map(([n, u]) => [n, { groups: u.groups, password: `hash-${n}`, tokens: [], updated: '' }])) },
      }),
    },
    cache: {
      all: () => [{ record, anchor }][Symbol.iterator](),
      byAnchor: (name) => (name === anchor.metadata.name ? { record, anchor } : undefined),
      podsOf: () => [],
      eventsOf: () => [],
      subscribe: () => () => undefined,
    },
    services: {
      verdictOf: () => ({ state: 'starting', details: { error: '', detailed_error: '' } }),
      stop: async (principal, servername) => void stopped.push(`${principal.credential}/${servername}`),
    },
    config: () => ({ services: { base: mkdtempSync(path.join(tmpdir(), 'admin-base-')), container_main_name: 'main' } }) as never,
    identity: { name: 'r1', pid: 1, started: '', version: 'test', deployment: 'k8smgr', namespace: 'ns' },
    ...(opts.sessionBook ? { sessionBook: opts.sessionBook } : {}),
  };
  const admin = await createAdmin(deps, opts);
  // As buildApp makes it: the hubs' paths work with and without the trailing slash.
  const app = Fastify({ routerOptions: { ignoreTrailingSlash: true } }) as unknown as App;
  app.setErrorHandler((thrown, _request, reply) => {
    const err = isDomainError(thrown) ? toHttpError(thrown) : thrown;
    if (err instanceof HttpError) return reply.status(err.status).headers(err.headers).send(err.body);
    return reply.status(500).send({ error: String(thrown) });
  });
  await app.register(async (scope) => admin.plugin(scope as unknown as App));
  await app.ready();
  admin.start();
  return { app, admin, stopped };
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

test('who gets in: sessions from the login form, headers for scripts, 403 without the group', async () => {
  const { app, admin } = await build();
  const anonymous = await app.inject({ method: 'GET', url: '/admin/api/services' });
  assert.equal(anonymous.statusCode, 401);
  assert.equal(anonymous.headers['www-authenticate'], undefined);
  assert.equal((await app.inject({ method: 'GET', url: '/admin/api/services', headers: { authorization: basic('hub', 'hub-pw') } })).statusCode, 403);
  assert.equal((await app.inject({ method: 'GET', url: '/admin/api/services', headers: { authorization: basic('ops', 'ops-pw') } })).statusCode, 200);

  const json = { 'content-type': 'application/json' };
  assert.equal((await app.inject({ method: 'POST', url: '/admin/api/login', headers: json, payload: { credential: 'hub', password: 'hub-pw' } })).statusCode, 403);
  assert.equal((await app.inject({ method: 'POST', url: '/admin/api/login', headers: json, payload: { credential: 'ops', password: 'nope' } })).statusCode, 401);
  assert.equal((await app.inject({ method: 'POST', url: '/admin/api/login', headers: json, payload: {} })).statusCode, 400);
  const crossSite = await app.inject({ method: 'POST', url: '/admin/api/login', headers: { ...json, origin: 'http://evil.example', host: 'mgr' }, payload: { credential: 'ops', password: 'ops-pw' } });
  assert.equal(crossSite.statusCode, 403, 'no login from another origin');
  const asText = await app.inject({ method: 'POST', url: '/admin/api/login', headers: { 'content-type': 'text/plain' }, payload: '{"credential":"ops","password":"ops-pw"}' });
  assert.equal(asText.statusCode, 403, 'a form-like login (not JSON) is refused');

  const login = await app.inject({ method: 'POST', url: '/admin/api/login', headers: { ...json, host: 'mgr', origin: 'http://mgr' }, payload: { credential: 'ops', password: 'ops-pw' } });
  assert.equal(login.statusCode, 200);
  const setCookie = String(login.headers['set-cookie']);
  assert.match(setCookie, /^k8smgr_admin=[\w-]{43}; Max-Age=\d+; Path=\/admin\/; HttpOnly; SameSite=Strict$/);
  const cookie = setCookie.split(';')[0]!;
  const { csrf } = login.json() as { csrf: string };
  assert.equal((await app.inject({ method: 'GET', url: '/admin/api/session', headers: { cookie } })).json().csrf, csrf);
  // Details: the record without secrets under secret-looking keys.
  const details = await app.inject({ method: 'GET', url: `/admin/api/services/${anchor.metadata.name}`, headers: { cookie } });
  assert.equal(details.statusCode, 200);
  assert.ok(!details.body.includes('hidden-value'));
  assert.equal((await app.inject({ method: 'GET', url: '/admin/api/services/NOT_A_NAME', headers: { cookie } })).statusCode, 404);
  admin.stop();
  await app.close();
});

test('without the cluster (the sessions Secret cannot be read or written): login 503, an unknown cookie 401, scripts still get in', async () => {
  const down = () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6443'));
  const sessionBook: SessionBook = { get: () => undefined, size: 0, refresh: down, change: down, start: () => undefined, stop: () => undefined };
  const { app, admin } = await build({ sessionBook });
  const json = { 'content-type': 'application/json', host: 'mgr', origin: 'http://mgr' };
  const login = await app.inject({ method: 'POST', url: '/admin/api/login', headers: json, payload: { credential: 'ops', password: 'ops-pw' } });
  assert.equal(login.statusCode, 503, login.body);
  assert.equal(login.json().error, 'Could not open a session now, try again.');
  assert.equal(login.headers['set-cookie'], undefined);
  assert.equal((await app.inject({ method: 'GET', url: '/admin/api/session', headers: { cookie: 'k8smgr_admin=some-session-id' } })).statusCode, 401);
  assert.equal((await app.inject({ method: 'GET', url: '/admin/api/services', headers: { authorization: basic('ops', 'ops-pw') } })).statusCode, 200);
  admin.stop();
  await app.close();
});

test('actions need the CSRF token (or X-K8smgr-Admin with a header) and this origin', async () => {
  const { app, admin, stopped } = await build();
  const login = await app.inject({ method: 'POST', url: '/admin/api/login', headers: { 'content-type': 'application/json' }, payload: { credential: 'ops', password: 'ops-pw' } });
  const cookie = String(login.headers['set-cookie']).split(';')[0]!;
  const { csrf } = login.json() as { csrf: string };
  const stop = (headers: Record<string, string>) =>
    app.inject({ method: 'POST', url: `/admin/api/services/${anchor.metadata.name}/stop`, headers: { 'content-type': 'application/json', host: 'mgr', ...headers }, payload: {} });
  assert.equal((await stop({ cookie })).statusCode, 403, 'no token');
  assert.equal((await stop({ cookie, 'x-csrf-token': 'wrong' })).statusCode, 403, 'wrong token');
  assert.equal((await stop({ cookie, 'x-csrf-token': csrf, origin: 'http://evil.example' })).statusCode, 403, 'another origin');
  assert.equal((await stop({ cookie, 'x-csrf-token': csrf, 'sec-fetch-site': 'cross-site' })).statusCode, 403, 'cross-site fetch');
  assert.equal((await stop({ authorization: basic('ops', 'ops-pw') })).statusCode, 403, 'header auth without X-K8smgr-Admin');
  assert.deepEqual(stopped, []);
  assert.equal((await stop({ cookie, 'x-csrf-token': csrf, origin: 'http://mgr' })).statusCode, 204);
  assert.deepEqual(stopped, ['hub/lab-1'], 'stopped as its hub would');
  assert.equal((await stop({ authorization: basic('ops', 'ops-pw'), 'x-k8smgr-admin': '1' })).statusCode, 204);
  const again = await app.inject({
    method: 'POST', url: `/admin/api/services/${anchor.metadata.name}/stop`,
    headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf }, payload: { start_id: 'other001' },
  });
  assert.equal(again.statusCode, 409, 'a stop meant for another start');
  // Logout ends the session.
  assert.equal((await app.inject({ method: 'POST', url: '/admin/api/logout', headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' }, payload: {} })).statusCode, 204);
  assert.equal((await app.inject({ method: 'GET', url: '/admin/api/session', headers: { cookie } })).statusCode, 401);
  admin.stop();
  await app.close();
});

test('the page: trailing slash, files by exact name, security headers; missing files are a 503, not a crash', async () => {
  const { app, admin } = await build();
  const bare = await app.inject({ method: 'GET', url: '/admin' });
  assert.equal(bare.statusCode, 301);
  assert.equal(bare.headers.location, '/admin/');
  const page = await app.inject({ method: 'GET', url: '/admin/' });
  assert.equal(page.statusCode, 200);
  assert.match(String(page.headers['content-type']), /text\/html/);
  assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
  assert.equal(page.headers['x-frame-options'], 'DENY');
  const js = await app.inject({ method: 'GET', url: '/admin/static/main.js' });
  assert.match(String(js.headers['content-type']), /text\/javascript/);
  assert.equal((await app.inject({ method: 'GET', url: '/admin/static/main.js', headers: { 'if-none-match': String(js.headers.etag) } })).statusCode, 304);
  assert.equal((await app.inject({ method: 'GET', url: '/admin/static/..%2Fsessions.ts' })).statusCode, 404);
  assert.equal((await app.inject({ method: 'GET', url: '/admin/static/nope.js' })).statusCode, 404);
  admin.stop();
  await app.close();

  const missing = await build({ staticDir: mkdtempSync(path.join(tmpdir(), 'admin-empty-')) });
  assert.equal((await missing.app.inject({ method: 'GET', url: '/admin/' })).statusCode, 503);
  assert.equal((await missing.app.inject({ method: 'GET', url: '/admin/api/services', headers: { authorization: basic('ops', 'ops-pw') } })).statusCode, 200);
  missing.admin.stop();
  await missing.app.close();
});
