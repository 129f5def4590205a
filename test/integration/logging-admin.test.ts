// The /api/logs/ API over HTTP (buildApp + inject) with LogAdmin on the real
// control plane: the configuration lives in one ConfigMap, two replicas (two
// LogAdmin instances on one namespace) follow each other's changes, and a new
// replica starts from what was stored.
import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { buildApp, type App } from '../../src/http/app.js';
import type { ServiceApi } from '../../src/services/manager.js';
import type { Authenticator, Group } from '../../src/auth/types.js';
import { KubeGateway } from '../../src/kube/gateway.js';
import { LogAdmin } from '../../src/logging/admin.js';
import { handlerFactory } from '../../src/logging/factory.js';
import { LogHub } from '../../src/logging/hub.js';
import { createLogger } from '../../src/logging/logger.js';
import { testNamespace } from '../helpers/cluster.js';
import { freePort, until } from './logging-receivers.js';

const CONFIGMAP = 'k8smgr-logging';
// At the top of the file: the namespace is deleted after all tests of this file.
const cluster = await testNamespace();

interface Replica {
  hub: LogHub;
  admin: LogAdmin;
  stdout: PassThrough;
  printed: string[];
}

const notUsed = () => {
  throw new Error('not used in this test');
};
const services: ServiceApi = { start: notUsed, list: notUsed, poll: notUsed, update: notUsed, stop: notUsed };

function authenticator(groups: Group[]): Authenticator {
  return { authenticate: async () => ({ ok: true, principal: { credential: 'hub1', groups: new Set(groups) } }) };
}

describe('logging handler API and its ConfigMap', () => {
  let kc: k8s.KubeConfig;
  let namespace: string;
  let gateway: KubeGateway;
  let dir: string;
  const replicas: Replica[] = [];
  let app: App;

  async function replica(): Promise<Replica> {
    const hub = new LogHub();
    const stdout = new PassThrough();
    const printed: string[] = [];
    stdout.on('data', (c: Buffer) => printed.push(...c.toString().split('\n').filter(Boolean)));
    const logger = createLogger(hub);
    const admin = new LogAdmin({
      gateway,
      namespace,
      name: CONFIGMAP,
      hub,
      logger,
      factory: handlerFactory({ streams: { stdout, stderr: stdout }, timeoutMs: 2000 }),
      watchTimeoutSeconds: 30,
    });
    await admin.start();
    await admin.waitForSync();
    const r = { hub, admin, stdout, printed };
    replicas.push(r);
    return r;
  }

  const configMap = () => kc.makeApiClient(k8s.CoreV1Api).readNamespacedConfigMap({ name: CONFIGMAP, namespace });
  const call = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
    app.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as object }) });

  before(async () => {
    ({ kc, namespace } = cluster);
    gateway = new KubeGateway(kc, { fieldManager: 'k8smgr-test' });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'k8smgr-logapi-'));
  });
  after(async () => {
    await app?.close();
    for (const r of replicas) {
      r.admin.stop();
      await r.hub.closeAll();
    }
  });

  test('without a ConfigMap every replica logs to stdout (simple, level 20)', async () => {
    const a = await replica();
    await replica();
    app = buildApp({
      logger: createLogger(a.hub),
      authenticator: authenticator(['access_to_logging']),
      services,
      logs: a.admin,
      readiness: { check: () => ({ ready: true, details: {} }) },
      bodyLimitBytes: 1 << 20,
    });
    await app.ready();
    const res = await call('GET', '/api/logs/handler/');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { stream: { formatter: 'simple', level: 20, stream: 'ext://sys.stdout' } });
    assert.deepEqual(a.hub.types(), ['stream']);
    await assert.rejects(configMap(), (err: unknown) => err instanceof k8s.ApiException && err.code === 404);
  });

  test('POST creates a handler merged over its defaults (201), stored in the ConfigMap, seen by the other replica', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const filename = path.join(dir, 'manager.log');
    const res = await call('POST', '/api/logs/handler/', { handler: 'file', configuration: { filename, level: 20 } });
    assert.equal(res.statusCode, 201, res.body);
    const { stats, ...answer } = res.json();
    assert.deepEqual(stats, { queued: 0, dropped: 0, failed: 0, lastError: null });
    assert.deepEqual(answer, {
      handler: 'file',
      configuration: { formatter: 'simple', level: 20, filename, when: 'midnight', interval: 1, backupCount: 7 },
      active: true,
    });
    assert.deepEqual(a.hub.types().sort(), ['file', 'stream']);
    const cm = await configMap();
    assert.equal(cm.metadata?.labels?.['app.kubernetes.io/managed-by'], 'k8smgr');
    assert.deepEqual(Object.keys(cm.data ?? {}).sort(), ['file', 'stream']);
    assert.equal(JSON.parse(cm.data?.file ?? '{}').filename, filename);
    await until(() => b.hub.types().includes('file'), 'the file handler on the other replica');
    assert.deepEqual(b.admin.list(), a.admin.list());
  });

  test('errors: a second POST, unknown handler, bad level, wrong type, missing key are 400 lists', async () => {
    const cases: Array<[unknown, string[]]> = [
      [{ handler: 'file', configuration: {} }, ['Handler file already exists. Use PUT or PATCH /api/logs/handler/file/ to change it.']],
      [{ handler: 'kafka', configuration: {} }, ['Unsupported handler: kafka. Supported handlers: stream, file, smtp, syslog']],
      [{ handler: 'smtp', configuration: { level: 3, toaddrs: ['a@example.org'] } }, ['Unsupported level: 3. Supported levels: 5, 10, 20, 30, 40, 50, 99']],
      [{ handler: 'file', configuration: { filename: 7 } }, ['filename in configuration must be of type str']],
      [{ configuration: {} }, ['Missing key in input data: handler']],
    ];
    for (const [payload, expected] of cases) {
      const res = await call('POST', '/api/logs/handler/', payload);
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      assert.deepEqual(res.json(), expected);
    }
  });

  test('GET one handler; an unconfigured or unknown type is 404', async () => {
    const res = await call('GET', '/api/logs/handler/file/');
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().configuration.level, 20);
    for (const url of ['/api/logs/handler/smtp/', '/api/logs/handler/kafka/']) {
      const missing = await call('GET', url);
      assert.equal(missing.statusCode, 404);
      assert.deepEqual(missing.json(), { detail: 'Not found.' });
    }
    assert.equal((await call('PATCH', '/api/logs/handler/syslog/', { level: 10 })).statusCode, 404);
    assert.equal((await call('DELETE', '/api/logs/handler/smtp/')).statusCode, 404);
  });

  test('PATCH merges, PUT replaces over the defaults; the other replica follows', async () => {
    const [, b] = replicas as [Replica, Replica];
    const patched = await call('PATCH', '/api/logs/handler/file/', { when: 'H', backupCount: 3 });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.deepEqual(
      { ...patched.json().configuration, filename: 'x' },
      { formatter: 'simple', level: 20, filename: 'x', when: 'H', interval: 1, backupCount: 3 },
    );
    const bad = await call('PATCH', '/api/logs/handler/file/', { backupCount: 'many' });
    assert.deepEqual(bad.json(), ['backupCount in configuration must be of type int']);
    const filename = path.join(dir, 'replaced.log');
    const put = await call('PUT', '/api/logs/handler/file/', { handler: 'file', configuration: { filename, formatter: 'json' } });
    assert.equal(put.statusCode, 200, put.body);
    assert.deepEqual(put.json().configuration, { formatter: 'json', level: 10, filename, when: 'midnight', interval: 1, backupCount: 7 });
    await until(() => (b.admin.list().file as { filename?: string } | undefined)?.filename === filename, 'the PUT on the other replica');
  });

  test('logtest writes one message at each level (200, empty body) to the handlers', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const res = await call('GET', '/api/logs/logtest/');
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, '');
    assert.equal((await call('POST', '/api/logs/logtest/')).statusCode, 200);
    await a.hub.flush();
    const lines = (await fs.readFile(path.join(dir, 'replaced.log'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const tests = lines.filter((l) => l.logtest === true).map((l) => l.levelname);
    assert.deepEqual(tests, ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL', 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL']);
    assert.ok(a.printed.some((l) => / INFO Logtest: INFO logtest=true$/.test(l)), a.printed.join('\n'));
    assert.ok(!a.printed.some((l) => /Logtest: DEBUG/.test(l)), 'stream is at level 20');
    assert.ok(!b.printed.some((l) => /Logtest/.test(l)), 'the other replica logs its own records only');
  });

  test('a handler that cannot be built is reported and the others keep running', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const port = await freePort();
    const res = await call('POST', '/api/logs/handler/', { handler: 'smtp', configuration: { mailhost: ['127.0.0.1', port], toaddrs: ['ops@example.org'] } });
    assert.equal(res.statusCode, 201, res.body);
    const body = res.json();
    assert.equal(body.active, false);
    assert.match(body.error, new RegExp(`mail host 127.0.0.1:${port} not usable`));
    assert.deepEqual(a.hub.types().sort(), ['file', 'stream']);
    assert.equal((await call('GET', '/api/logs/handler/smtp/')).json().active, false);
    await until(() => b.admin.status().handlers.smtp?.active === false, 'the failed smtp handler on the other replica');
    a.printed.length = 0;
    createLogger(a.hub).info('still logging');
    assert.ok(a.printed.some((l) => l.endsWith('INFO still logging')));
  });

  test('DELETE through one replica removes the handler on both (204)', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const res = await call('DELETE', '/api/logs/handler/smtp/');
    assert.equal(res.statusCode, 204);
    assert.equal((await call('DELETE', '/api/logs/handler/stream/')).statusCode, 204);
    await until(() => !b.hub.types().includes('stream') && b.admin.list().smtp === undefined, 'the deletes on the other replica');
    assert.deepEqual(a.hub.types(), ['file']);
    assert.deepEqual(Object.keys((await configMap()).data ?? {}), ['file']);
  });

  test('concurrent changes through both replicas all land (optimistic concurrency)', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const [ra, rb] = await Promise.all([
      a.admin.create({ handler: 'stream', configuration: { level: 30 } }),
      b.admin.create({ handler: 'syslog', configuration: { address: ['127.0.0.1', 51400], level: 50 } }),
    ]);
    assert.equal(ra.handler, 'stream');
    assert.equal(rb.handler, 'syslog');
    const stored = (await configMap()).data ?? {};
    assert.deepEqual(Object.keys(stored).sort(), ['file', 'stream', 'syslog']);
    for (const r of [a, b]) await until(() => r.hub.types().length === 3, 'all three handlers on each replica');
  });

  test('a new replica (a restart) starts from the stored configuration', async () => {
    const c = await replica();
    assert.deepEqual(c.admin.list(), replicas[0]!.admin.list());
    assert.deepEqual(c.hub.types().sort(), ['file', 'stream', 'syslog']);
    assert.equal((c.admin.list().stream as { level: number }).level, 30);
  });

  test('deleting the ConfigMap brings every replica back to the defaults', async () => {
    await kc.makeApiClient(k8s.CoreV1Api).deleteNamespacedConfigMap({ name: CONFIGMAP, namespace });
    for (const r of replicas) {
      await until(() => r.hub.types().join() === 'stream', 'the defaults on every replica');
      assert.deepEqual(r.admin.list(), { stream: { formatter: 'simple', level: 20, stream: 'ext://sys.stdout' } });
    }
  });

  test('an invalid entry written by hand is reported, the valid ones apply', async () => {
    await kc.makeApiClient(k8s.CoreV1Api).createNamespacedConfigMap({
      namespace,
      body: {
        metadata: { name: CONFIGMAP, labels: { 'app.kubernetes.io/managed-by': 'k8smgr', 'app.kubernetes.io/component': 'logging' } },
        data: { stream: JSON.stringify({ formatter: 'simple', level: 40, stream: 'ext://sys.stdout' }), file: '{"filename": 3' },
      },
    });
    const [a] = replicas as [Replica];
    await until(() => (a.admin.list().stream as { level?: number } | undefined)?.level === 40, 'the hand-written ConfigMap');
    assert.deepEqual(a.hub.types(), ['stream']);
    assert.match(String(a.admin.status().handlers.file?.error), /not JSON/);
  });
});
