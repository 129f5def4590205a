import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CredentialAuthenticator } from '../../../src/auth/authenticator.js';
import { MemoryBackend } from '../../../src/auth/backend.js';
import { Hasher } from '../../../src/auth/hash.js';
import { basicHeader } from '../../../src/auth/headers.js';
import { CredentialStore } from '../../../src/auth/store.js';
import { LoginThrottle } from '../../../src/auth/throttle.js';
import type { App } from '../../../src/http/app.js';
import { authApp, captureLogs, cheapHasher, tokenSecret } from './support.js';

const PASSWORD = 'correct horse battery staple';
const LOG_PASSWORD = 'l0gging-only-pw';

void describe('authentication through HTTP', () => {
  const capture = captureLogs();
  const store = new CredentialStore(new MemoryBackend(), { hasher: new Hasher(), logger: capture.logger });
  let now = 0;
  const throttle = new LoginThrottle({ maxFailures: 5, windowMs: 60_000, now: () => now });
  const authenticator = new CredentialAuthenticator({ store, throttle, logger: capture.logger });
  const app: App = authApp(authenticator, capture.logger);
  let token = '';
  let ip = 0;
  /** A fresh source address per request unless given: failures must not throttle other cases. */
  const get = (url: string, headers: Record<string, string> = {}, remoteAddress = `10.1.0.${++ip % 250}`) =>
    app.inject({ method: 'GET', url, headers, remoteAddress });

  before(async () => {
    store.start();
    await store.createOrUpdate('hub', { password: PASSWORD, groups: ['access_to_webservice'] });
    await store.createOrUpdate('logger', { password: LOG_PASSWORD, groups: ['access_to_logging'] });
    token = await store.createToken('hub');
  });
  after(async () => {
    await app.close();
    store.stop();
  });

  void it('Basic ok', async () => {
    const res = await get('/api/services/', { authorization: basicHeader('hub', PASSWORD) });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), []);
  });
  void it('token ok, Bearer ok', async () => {
    assert.equal((await get('/api/services/', { authorization: `token ${token}` })).statusCode, 200);
    assert.equal((await get('/api/services/', { authorization: `Token ${token}` })).statusCode, 200);
    assert.equal((await get('/api/services/', { authorization: `Bearer ${token}` })).statusCode, 200);
  });
  void it('the seed\'s Authentication header ok', async () => {
    assert.equal((await get('/api/services/', { authentication: basicHeader('hub', PASSWORD) })).statusCode, 200);
    assert.equal((await get('/api/services/', { authentication: `token ${token}` })).statusCode, 200);
  });

  void it('wrong password, unknown user, malformed, missing, bad token: the same 401', async () => {
    const cases: Record<string, Record<string, string>> = {
      'wrong password': { authorization: basicHeader('hub', `${PASSWORD}x`) },
      'unknown user': { authorization: basicHeader('nobody', PASSWORD) },
      malformed: { authorization: 'Basic !!!' },
      'unknown scheme': { authorization: `Digest ${token}` },
      missing: {},
      'unknown token': { authorization: `token ${token.slice(0, -4)}AAAA` },
      'not a token': { authorization: 'Bearer abc' },
    };
    const bodies = new Set<string>();
    for (const [what, headers] of Object.entries(cases)) {
      const res = await get('/api/services/', headers);
      assert.equal(res.statusCode, 401, what);
      assert.match(String(res.headers['www-authenticate']), /^Basic realm=/, what);
      assert.equal(res.headers['content-type']?.toString().startsWith('application/json'), true, what);
      bodies.add(res.body);
    }
    assert.equal(bodies.size, 1, 'nothing tells which part was wrong');
  });

  void it('right credential, wrong group: 403; right group: 200', async () => {
    assert.equal((await get('/api/logs/handler/', { authorization: basicHeader('hub', PASSWORD) })).statusCode, 403);
    assert.equal((await get('/api/services/', { authorization: basicHeader('logger', LOG_PASSWORD) })).statusCode, 403);
    assert.equal((await get('/api/logs/handler/', { authorization: basicHeader('logger', LOG_PASSWORD) })).statusCode, 200);
    const forbidden = await get('/api/logs/handler/', { authorization: `token ${token}` });
    assert.equal(forbidden.statusCode, 403);
    assert.ok(typeof forbidden.json().detail === 'string');
  });

  void it('health needs no credentials', async () => {
    assert.equal((await get('/api/health/')).statusCode, 200);
  });

  void it('1,000 Basic polls cost one hash computation', async () => {
    await store.createOrUpdate('poller', { password: 'poll-pw', groups: ['access_to_webservice'] });
    const before = store.hasher.computations;
    for (let i = 0; i < 1000; i++) {
      const res = await get('/api/services/some-server/', { authorization: basicHeader('poller', 'poll-pw') });
      assert.equal(res.statusCode, 200);
    }
    assert.equal(store.hasher.computations - before, 1);
  });

  void it('concurrent first requests share one hash', async () => {
    await store.createOrUpdate('burst', { password: 'burst-pw', groups: ['access_to_webservice'] });
    const before = store.hasher.computations;
    const all = await Promise.all(Array.from({ length: 50 }, () => get('/api/services/', { authorization: basicHeader('burst', 'burst-pw') })));
    assert.ok(all.every((r) => r.statusCode === 200));
    assert.equal(store.hasher.computations - before, 1);
  });

  void it('a changed password or group takes effect at once (the cache is invalidated)', async () => {
    await store.createOrUpdate('rotating', { password: 'old-pw', groups: ['access_to_webservice'] });
    const old = { authorization: basicHeader('rotating', 'old-pw') };
    assert.equal((await get('/api/services/', old)).statusCode, 200);
    await store.setGroups('rotating', ['access_to_logging']);
    assert.equal((await get('/api/services/', old)).statusCode, 403);
    await store.createOrUpdate('rotating', { password: 'new-pw', groups: ['access_to_webservice'] });
    assert.equal((await get('/api/services/', old)).statusCode, 401);
    assert.equal((await get('/api/services/', { authorization: basicHeader('rotating', 'new-pw') })).statusCode, 200);
    const t = await store.createToken('rotating');
    assert.equal((await get('/api/services/', { authorization: `token ${t}` })).statusCode, 200);
    await store.revokeToken('rotating', 'all');
    assert.equal((await get('/api/services/', { authorization: `token ${t}` })).statusCode, 401);
    await store.remove('rotating');
    assert.equal((await get('/api/services/', { authorization: basicHeader('rotating', 'new-pw') })).statusCode, 401);
  });

  void it('repeated failures from one source: 429 with Retry-After; others are not slowed', async () => {
    const attacker = '192.0.2.66';
    for (let i = 0; i < 5; i++) {
      assert.equal((await get('/api/services/', { authorization: basicHeader('hub', `guess${i}`) }, attacker)).statusCode, 401);
    }
    const refused = await get('/api/services/', { authorization: basicHeader('hub', PASSWORD) }, attacker);
    assert.equal(refused.statusCode, 429);
    assert.equal(refused.headers['retry-after'], '60');
    const before = store.hasher.computations;
    await get('/api/services/', { authorization: basicHeader('hub', 'guess-more') }, attacker);
    assert.equal(store.hasher.computations, before, 'a refused source costs no hashing');
    assert.equal((await get('/api/services/', { authorization: basicHeader('hub', PASSWORD) }, '192.0.2.1')).statusCode, 200);
    now += 61_000;
    assert.equal((await get('/api/services/', { authorization: basicHeader('hub', PASSWORD) }, attacker)).statusCode, 200);
  });

  void it('no password or token in the logs', () => {
    const all = capture.lines.join('\n');
    assert.ok(capture.lines.length > 0);
    assert.match(all, /login failed/);
    for (const secret of [PASSWORD, LOG_PASSWORD, 'poll-pw', 'new-pw', token, tokenSecret(token), Buffer.from(`hub:${PASSWORD}`).toString('base64')]) {
      assert.ok(!all.includes(secret), `log contains ${secret.slice(0, 6)}…`);
    }
  });
});

void describe('CredentialAuthenticator and a second replica', () => {
  void it('sees a credential created by another store on the same backend without waiting for the watch', async () => {
    const backend = new MemoryBackend();
    const a = new CredentialStore(backend, { hasher: cheapHasher() });
    // b never gets change notifications: only its re-read on a miss can find the credential.
    const b = new CredentialStore({ ...backendWithoutWatch(backend) }, { hasher: cheapHasher() });
    a.start();
    b.start();
    const auth = new CredentialAuthenticator({ store: b });
    await a.createOrUpdate('late', { password: 'late-pw', groups: ['access_to_webservice'] });
    const outcome = await auth.authenticate({ authorization: basicHeader('late', 'late-pw') }, '10.0.0.1');
    assert.equal(outcome.ok, true);
  });
});

function backendWithoutWatch(backend: MemoryBackend) {
  return {
    location: 'memory (no watch)',
    start: () => {},
    stop: () => {},
    waitForSync: async () => {},
    read: () => backend.read(),
    write: (doc: Parameters<MemoryBackend['write']>[0], expected: string | undefined) => backend.write(doc, expected),
  };
}
