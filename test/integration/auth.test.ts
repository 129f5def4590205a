// Credentials on the real control plane: one Secret shared by every store
// ("replica"), surviving restarts, written with optimistic concurrency, never
// holding a plaintext secret.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { CredentialAuthenticator } from '../../src/auth/authenticator.js';
import { basicHeader } from '../../src/auth/headers.js';
import { CREDENTIALS_LABELS, credentialsSecretName } from '../../src/auth/kube-backend.js';
import { applyStartupUsers } from '../../src/auth/startup.js';
import { createCredentialStore, type CredentialStore } from '../../src/auth/store.js';
import { KubeGateway } from '../../src/kube/gateway.js';
import type { App } from '../../src/http/app.js';
import { testNamespace, waitFor, type TestNamespace } from '../helpers/cluster.js';
import { authApp, captureLogs, tokenSecret } from '../unit/auth/support.js';

const DEPLOYMENT = 'mgr';
const PASSWORD = 'integration-Pa55word-9f3a';

const ns: TestNamespace = await testNamespace();

void describe('credentials in the cluster', () => {
  const capture = captureLogs();
  const stores: CredentialStore[] = [];
  const apps: App[] = [];
  const secrets: string[] = [PASSWORD];

  /** A "replica": its own gateway, store (with its own Reflector), authenticator and app. */
  async function replica() {
    const gateway = new KubeGateway(ns.kc, { fieldManager: 'k8smgr' });
    const store = createCredentialStore({ gateway, namespace: ns.namespace, deploymentName: DEPLOYMENT, logger: capture.logger });
    store.start();
    await store.waitForSync();
    stores.push(store);
    const app = authApp(new CredentialAuthenticator({ store, logger: capture.logger }), capture.logger);
    apps.push(app);
    const get = (url: string, authorization?: string) =>
      app.inject({ method: 'GET', url, headers: authorization ? { authorization } : {}, remoteAddress: '10.9.9.9' });
    return { store, app, get };
  }

  after(async () => {
    for (const app of apps) await app.close();
    for (const store of stores) store.stop();
  });

  void it('a credential created on one replica authenticates on another at once, and its watch sees it', async () => {
    const a = await replica();
    const b = await replica();
    await a.store.createOrUpdate('hub', { password: PASSWORD, groups: ['access_to_webservice'] });
    // At once: b has not necessarily heard from its watch yet; a miss re-reads the Secret.
    assert.equal((await b.get('/api/services/', basicHeader('hub', PASSWORD))).statusCode, 200);
    const token = await b.store.createToken('hub');
    secrets.push(token);
    assert.equal((await a.get('/api/services/', `token ${token}`)).statusCode, 200);
    assert.equal((await a.get('/api/services/', `Bearer ${token}`)).statusCode, 200);
    // And the watch delivers changes without any request.
    await b.store.createOrUpdate('watched', { password: 'watched-pw-1', groups: ['access_to_logging'] });
    secrets.push('watched-pw-1');
    await waitFor(async () => a.store.snapshot().doc.credentials.watched !== undefined, { what: 'the watch event', timeoutMs: 10_000 });
    assert.equal((await a.get('/api/logs/handler/', basicHeader('watched', 'watched-pw-1'))).statusCode, 200);
    assert.equal((await a.get('/api/services/', basicHeader('watched', 'watched-pw-1'))).statusCode, 403);
    // A group change on one replica applies on the other (cache invalidated by the watch).
    await b.store.setGroups('watched', ['access_to_webservice']);
    await waitFor(async () => a.store.snapshot().doc.credentials.watched?.groups.includes('access_to_webservice'), { what: 'the group change', timeoutMs: 10_000 });
    assert.equal((await a.get('/api/services/', basicHeader('watched', 'watched-pw-1'))).statusCode, 200);
  });

  void it('one Secret, labelled, in the manager namespace; no plaintext in it', async () => {
    const core = ns.kc.makeApiClient(k8s.CoreV1Api);
    const secret = await core.readNamespacedSecret({ name: credentialsSecretName(DEPLOYMENT), namespace: ns.namespace });
    for (const [k, v] of Object.entries(CREDENTIALS_LABELS)) assert.equal(secret.metadata?.labels?.[k], v);
    const raw = JSON.stringify(secret);
    const decoded = Object.values(secret.data ?? {})
      .map((v) => Buffer.from(v, 'base64').toString('utf8'))
      .join('\n');
    assert.match(decoded, /scrypt\$16384\$8\$1\$/);
    for (const s of secrets) {
      for (const form of [s, Buffer.from(s).toString('base64'), tokenSecret(s)]) {
        assert.ok(!raw.includes(form) && !decoded.includes(form), `the Secret holds ${form.slice(0, 8)}…`);
      }
    }
  });

  void it('survives a restart: new stores on the same Secret; 1,000 polls cost one hash', async () => {
    for (const store of stores.splice(0)) store.stop();
    const c = await replica();
    const before = c.store.hasher.computations;
    for (let i = 0; i < 1000; i++) {
      const res = await c.get('/api/services/abc/', basicHeader('hub', PASSWORD));
      assert.equal(res.statusCode, 200);
    }
    assert.equal(c.store.hasher.computations - before, 1);
  });

  void it('concurrent writers on two replicas lose nothing (resourceVersion + retry on 409)', async () => {
    const a = await replica();
    const b = await replica();
    const names = Array.from({ length: 8 }, (_, i) => `concurrent-${i}`);
    await Promise.all(names.map((n, i) => (i % 2 ? a : b).store.createOrUpdate(n, { groups: ['access_to_webservice'] })));
    const listed = (await a.store.list()).map((c) => c.name);
    for (const n of names) assert.ok(listed.includes(n), n);
  });

  void it('start-up users from env; a missing variable is named and the others are still created', async () => {
    const a = await replica();
    const env: Record<string, string> = { JUPYTERHUB_USER_PASS: 'startup-hub-pw', 'LOGS_ONLY_USER_PASS': 'startup-logs-pw' };
    secrets.push(...Object.values(env));
    const result = await applyStartupUsers(
      a.store,
      { jupyterhub: ['access_to_webservice'], forgotten: ['access_to_webservice'], 'logs-only': ['access_to_logging'] },
      (name) => env[name],
    );
    assert.deepEqual(result.created, ['jupyterhub', 'logs-only']);
    assert.equal(result.errors.length, 1);
    assert.match(result.errors[0]!, /FORGOTTEN_USER_PASS/);
    const b = await replica();
    assert.equal((await b.get('/api/services/', basicHeader('jupyterhub', 'startup-hub-pw'))).statusCode, 200);
    assert.equal((await b.get('/api/logs/handler/', basicHeader('logs-only', 'startup-logs-pw'))).statusCode, 200);
    assert.equal((await b.get('/api/services/', basicHeader('forgotten', ''))).statusCode, 401);
    // A second start with the same users writes nothing.
    const rv = (await ns.kc.makeApiClient(k8s.CoreV1Api).readNamespacedSecret({ name: credentialsSecretName(DEPLOYMENT), namespace: ns.namespace })).metadata?.resourceVersion;
    await applyStartupUsers(b.store, { jupyterhub: ['access_to_webservice'] }, (name) => env[name]);
    const rv2 = (await ns.kc.makeApiClient(k8s.CoreV1Api).readNamespacedSecret({ name: credentialsSecretName(DEPLOYMENT), namespace: ns.namespace })).metadata?.resourceVersion;
    assert.equal(rv2, rv);
  });

  void it('error answers and logs hold no password or token', async () => {
    const a = await replica();
    const answers: string[] = [];
    for (const auth of [basicHeader('hub', `${PASSWORD}-wrong`), basicHeader('hub', PASSWORD), `token ${secrets[1]}x`, `token ${secrets[1]}`]) {
      const res = await a.get('/api/logs/handler/', auth);
      assert.ok([401, 403].includes(res.statusCode));
      answers.push(JSON.stringify(res.headers), res.body);
    }
    const all = `${answers.join('\n')}\n${capture.lines.join('\n')}`;
    assert.ok(capture.lines.some((l) => l.includes('login failed')));
    for (const s of secrets) {
      assert.ok(!all.includes(s), `found ${s.slice(0, 8)}…`);
      assert.ok(!all.includes(Buffer.from(`hub:${s}`).toString('base64')));
    }
  });
});
