// The watch layer on the real apiserver: routine watch ends resume from the
// last resourceVersion without a list and miss no change; every cache of a
// running manager is in readiness (credentials Secret and logging ConfigMap
// included); the gateway's read-modify-write lands every change of two
// writers at once; the credentials backend writes only over the version read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { testNamespace, waitFor } from '../helpers/cluster.js';
import { startManager } from '../helpers/manager.js';
import { freePort } from '../helpers/sshd.js';
import { KubeGateway, type KubeObject } from '../../src/kube/gateway.js';
import { Reflector, type ListWatchSource } from '../../src/kube/reflector.js';
import type { RestartEvent } from '../../src/kube/registry.js';
import { KubeSecretBackend } from '../../src/auth/kube-backend.js';
import { emptyDoc } from '../../src/auth/document.js';

const { kc, namespace, kubeconfigPath } = await testNamespace();

const cm = (name: string, data: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels: { 'k8smgr.test/watch': 'yes' } }, data,
});

test('routine watch ends resume from the last resourceVersion: one list, every change seen', async (t) => {
  const gateway = new KubeGateway(kc, { fieldManager: 'k8smgr-test' });
  // The real gateway, counted.
  const calls = { list: 0, watch: 0, bookmarks: 0 };
  const source: ListWatchSource = {
    caches: gateway.caches,
    listPages: (ref, opts) => {
      calls.list++;
      return gateway.listPages(ref, opts);
    },
    watch: (ref, opts) => {
      calls.watch++;
      return gateway.watch(ref, { ...opts, onEvent: (e) => {
        if (e.type === 'BOOKMARK') calls.bookmarks++;
        opts.onEvent(e);
      } });
    },
  };
  const ends: RestartEvent[] = [];
  gateway.caches.onRestart((e) => ends.push(e));
  const r = new Reflector<KubeObject>(source, {
    name: 'test ConfigMaps', apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespace, labelSelector: 'k8smgr.test/watch=yes',
    // 1 to 2 s per watch: several routine ends within the test.
    watchTimeoutSeconds: 1,
  });
  r.start();
  t.after(() => r.stop());
  await r.waitForSync();
  for (let i = 0; i < 8; i++) {
    const result = await gateway.create(cm(`w${i}`, { i: String(i) }));
    assert.ok(result.created);
    await sleep(1000);
  }
  await waitFor(async () => r.size === 8, { what: 'all 8 ConfigMaps in the cache', timeoutMs: 10_000 });
  await gateway.delete({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'w0', namespace } });
  await waitFor(async () => !r.get('w0'), { what: 'the deleted ConfigMap gone from the cache', timeoutMs: 10_000 });
  assert.ok(ends.length >= 3, `watch ends: ${ends.length}`);
  assert.deepEqual([...new Set(ends.map((e) => e.reason))], ['routine'], JSON.stringify(ends.slice(0, 3)));
  assert.equal(calls.list, 1, 'no relist after a routine end');
  assert.equal(calls.watch, ends.length + 1);
  assert.equal(r.status.restarts, 0);
  assert.equal(r.status.resumes, ends.length);
  t.diagnostic(`${ends.length} routine watch ends, ${calls.list} list, ${calls.bookmarks} bookmarks`);
});

test('readiness covers every cache of a running manager, the credentials Secret and logging ConfigMap included', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'k8smgr-watch-'));
  const configPath = path.join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify({
    services: { descriptions: path.resolve('test/fixtures/services/descriptions'), base: path.join(dir, 'rendered') },
    userhomes: { enabled: false },
    startup: { create_user: { testhub: ['access_to_webservice'] } },
  }));
  const manager = await startManager({ kubeconfigPath, namespace, configPath, env: { TESTHUB_USER_PASS: 'pw-watch-123' } });
  t.after(() => manager.kill());
  const ready = await fetch(`${manager.url}/api/ready/`);
  assert.equal(ready.status, 200);
  const body = (await ready.json()) as { caches: Array<{ name: string; kind: string; synced: boolean }> };
  const names = body.caches.map((c) => c.name);
  for (const name of ['anchors', 'pods', 'pod events', 'credentials Secret', 'admin sessions Secret', 'logging ConfigMap', 'userjob Services']) {
    assert.ok(names.includes(name), `${name} not in readiness: ${names.join(', ')}`);
  }
  assert.ok(body.caches.every((c) => c.synced));
  assert.doesNotMatch(manager.output(), /watch restarted|watch failed/);
});

test('a manager started while the apiserver is unreachable is ready soon after it can be reached (backoff is bounded)', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'k8smgr-watch-late-'));
  const configPath = path.join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify({
    services: { descriptions: path.resolve('test/fixtures/services/descriptions'), base: path.join(dir, 'rendered') },
    userhomes: { enabled: false },
  }));
  // The manager's kubeconfig names a port where nothing listens yet; later a TCP forwarder to the apiserver opens there.
  const apiserver = new URL(kc.getCurrentCluster()!.server);
  const port = await freePort();
  const lateKubeconfig = path.join(dir, 'kubeconfig');
  writeFileSync(lateKubeconfig, readFileSync(kubeconfigPath, 'utf8').replace(apiserver.origin, `https://127.0.0.1:${port}`));
  const managerPort = await freePort();
  const starting = startManager({ kubeconfigPath: lateKubeconfig, namespace, configPath, readyTimeoutMs: 120_000, env: { PORT: String(managerPort) } });
  const outageMs = 12_000;
  await sleep(outageMs);
  const forwarder = net.createServer((client) => {
    const upstream = net.connect(Number(apiserver.port), apiserver.hostname);
    client.pipe(upstream).pipe(client);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  const sockets = new Set<net.Socket>();
  forwarder.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => forwarder.listen(port, '127.0.0.1', resolve));
  const reachable = Date.now();
  const manager = await starting.catch(async (err: unknown) => {
    forwarder.close();
    for (const socket of sockets) socket.destroy();
    throw err;
  });
  t.after(async () => {
    await manager.kill();
    forwarder.close();
    for (const socket of sockets) socket.destroy();
  });
  const afterMs = Date.now() - reachable;
  console.log(`ready ${afterMs} ms after the apiserver became reachable (unreachable for the first ${outageMs / 1000} s)`);
  // The reflectors' backoff grows to at most 10 s (±25 %); a list then takes well under a second here.
  assert.ok(afterMs < 20_000, `ready only ${afterMs} ms after the apiserver became reachable`);
  assert.match(manager.output(), /ECONNREFUSED/, 'the manager did try while the apiserver was unreachable');
});

test('read-modify-write: two gateways changing one ConfigMap at once lose no change', async () => {
  const a = new KubeGateway(kc, { fieldManager: 'k8smgr-test' });
  const b = new KubeGateway(kc, { fieldManager: 'k8smgr-test' });
  const ref = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'counter', namespace } };
  type Counter = KubeObject & { data?: Record<string, string> };
  const increment = (g: KubeGateway) => g.update<Counter>(ref, (current) => ({
    ...(current ?? cm('counter')),
    data: { n: String(Number(current?.data?.n ?? 0) + 1) },
  }), { attempts: 40 });
  await Promise.all(Array.from({ length: 10 }, (_, i) => increment(i % 2 ? a : b)));
  const final = await a.read<Counter>(ref);
  assert.equal(final?.data?.n, '10');
});

test('the credentials backend writes only over the version it read', async () => {
  const gateway = new KubeGateway(kc, { fieldManager: 'k8smgr-test' });
  const backend = new KubeSecretBackend({ gateway, namespace, secretName: 'watch-test-credentials' });
  const first = await backend.write(emptyDoc(), undefined);
  assert.notEqual(first, 'conflict');
  assert.equal(await backend.write(emptyDoc(), undefined), 'conflict', 'create over an existing one');
  const changed = { ...emptyDoc(), credentials: { hub: { groups: [], tokens: [], updated: new Date().toISOString() } } };
  const second = await backend.write(changed, (first as { version: string }).version);
  assert.notEqual(second, 'conflict');
  assert.equal(await backend.write(emptyDoc(), (first as { version: string }).version), 'conflict', 'a stale version');
  assert.equal((await backend.read())?.version, (second as { version: string }).version);
});
