// The gateway against a small fake apiserver (plain HTTP on loopback): paths
// from discovery (one request per group version even for calls at once),
// credentials from the KubeConfig, lists page by page, conditional replace,
// read-modify-write retried on 409, delete outcomes, retries, watch streams.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeGateway, type KubeObject } from '../../../src/kube/gateway.js';
import { KubeError } from '../../../src/kube/errors.js';

interface Seen { method: string; path: string; query: URLSearchParams; body: string; auth: string | undefined; contentType: string | undefined }

type Handler = (req: Seen, res: http.ServerResponse) => void;

let server: http.Server;
let url = '';
const seen: Seen[] = [];
let handle: Handler = (_req, res) => res.writeHead(404).end();

const json = (res: http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
const status = (code: number, reason: string, message = reason) => ({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message });

const CORE = { kind: 'APIResourceList', groupVersion: 'v1', resources: [
  { name: 'configmaps', kind: 'ConfigMap', namespaced: true },
  { name: 'pods', kind: 'Pod', namespaced: true },
  { name: 'pods/log', kind: 'Pod', namespaced: true },
  { name: 'namespaces', kind: 'Namespace', namespaced: false },
] };

before(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const s: Seen = { method: req.method ?? '', path: u.pathname, query: u.searchParams, body, auth: req.headers.authorization, contentType: req.headers['content-type'] };
      seen.push(s);
      if (s.path === '/api/v1' && s.method === 'GET') {
        setTimeout(() => json(res, 200, CORE), 30);
        return;
      }
      handle(s, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

function gateway(opts: { retries?: number; timeoutMs?: number } = {}): KubeGateway {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: url, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'sekrit' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u', namespace: 'home' }],
    currentContext: 'x',
  });
  seen.length = 0;
  return new KubeGateway(kc, { fieldManager: 'k8smgr-test', ...opts });
}

const cm = (name: string, rv?: string, data: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns', ...(rv ? { resourceVersion: rv } : {}) }, data,
});

test('creates at the path discovery gives, with the token; calls at once share one discovery request', async () => {
  const g = gateway();
  handle = (req, res) => json(res, 201, { ...JSON.parse(req.body), metadata: { ...JSON.parse(req.body).metadata, uid: 'u1' } });
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => g.create(cm(`c${i}`))));
  assert.ok(results.every((r) => r.created));
  assert.equal(seen.filter((s) => s.path === '/api/v1').length, 1);
  const posts = seen.filter((s) => s.method === 'POST');
  assert.equal(posts.length, 10);
  assert.equal(posts[0]!.path, '/api/v1/namespaces/ns/configmaps');
  assert.equal(posts[0]!.query.get('fieldManager'), 'k8smgr-test');
  assert.equal(posts[0]!.auth, 'Bearer sekrit');
  // No namespace on the object: the kubeconfig context's; a cluster-scoped kind: none.
  handle = (_req, res) => json(res, 201, cm('x'));
  await g.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'nons' } });
  await g.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n1' } });
  assert.deepEqual(seen.slice(-2).map((s) => s.path), ['/api/v1/namespaces/home/configmaps', '/api/v1/namespaces']);
  // 409 is an outcome.
  handle = (_req, res) => json(res, 409, status(409, 'AlreadyExists'));
  assert.deepEqual(await g.create(cm('c0')), { created: false, conflict: true });
  // An unknown kind: a clear error, no write.
  await assert.rejects(g.create({ apiVersion: 'v1', kind: 'Gizmo', metadata: { name: 'g' } }), (err: unknown) => err instanceof KubeError && err.status === 404 && /no resource of kind Gizmo/.test(err.message));
});

test('server-side apply: PATCH with the apply content type, force and the field manager; dry run', async () => {
  const g = gateway();
  handle = (req, res) => json(res, 200, JSON.parse(req.body));
  const out = await g.apply(cm('a', undefined, { k: 'v' }), { dryRun: true });
  assert.deepEqual(out.data, { k: 'v' });
  const patch = seen.find((s) => s.method === 'PATCH')!;
  assert.equal(patch.path, '/api/v1/namespaces/ns/configmaps/a');
  assert.equal(patch.contentType, 'application/apply-patch+yaml');
  assert.deepEqual([patch.query.get('fieldManager'), patch.query.get('force'), patch.query.get('dryRun')], ['k8smgr-test', 'true', 'All']);
  handle = (_req, res) => json(res, 422, status(422, 'Invalid', 'ConfigMap "a" is invalid: data: bad'));
  await assert.rejects(g.apply(cm('a')), (err: unknown) => err instanceof KubeError && err.status === 422 && /is invalid: data: bad/.test(err.message));
});

test('lists page by page with limit and continue; items get apiVersion and kind', async () => {
  const g = gateway();
  handle = (req, res) => {
    const token = req.query.get('continue');
    const page = token === null ? 0 : Number(token);
    const items = [cm(`p${page}a`), cm(`p${page}b`)].map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
    json(res, 200, { kind: 'ConfigMapList', metadata: { resourceVersion: '77', ...(page < 2 ? { continue: String(page + 1) } : {}) }, items });
  };
  const pages: string[][] = [];
  const rv = await g.listPages({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', plural: 'configmaps' }, { labelSelector: 'a=b', pageSize: 2, onPage: (items) => pages.push(items.map((i) => `${i.kind}/${i.metadata.name}`)) });
  assert.equal(rv, '77');
  assert.deepEqual(pages, [['ConfigMap/p0a', 'ConfigMap/p0b'], ['ConfigMap/p1a', 'ConfigMap/p1b'], ['ConfigMap/p2a', 'ConfigMap/p2b']]);
  const lists = seen.filter((s) => s.path === '/api/v1/namespaces/ns/configmaps');
  assert.deepEqual(lists.map((s) => [s.query.get('limit'), s.query.get('continue'), s.query.get('labelSelector')]), [['2', null, 'a=b'], ['2', '1', 'a=b'], ['2', '2', 'a=b']]);
  assert.equal(seen.filter((s) => s.path === '/api/v1').length, 0, 'a known plural needs no discovery');
  // The plain list: all pages, one array.
  assert.equal((await g.list('v1', 'ConfigMap', 'ns')).length, 6);
});

test('replace is conditional: 409 conflict, 404 gone; update reads, changes and retries on a conflict', async () => {
  const g = gateway();
  handle = (_req, res) => json(res, 409, status(409, 'Conflict'));
  assert.equal(await g.replace(cm('a', '5')), 'conflict');
  handle = (_req, res) => json(res, 404, status(404, 'NotFound'));
  assert.equal(await g.replace(cm('a', '5')), 'gone');
  await assert.rejects(g.replace(cm('a')), /needs the resourceVersion/);

  // Stored at rv 1; another writer replaces it (rv 2) between our read and our write: the second round lands.
  let stored = cm('a', '1', { n: '1' });
  handle = (req, res) => {
    if (req.method === 'GET') return json(res, 200, stored);
    const body = JSON.parse(req.body) as KubeObject;
    if (body.metadata.resourceVersion !== stored.metadata.resourceVersion) return json(res, 409, status(409, 'Conflict'));
    stored = { ...body, metadata: { ...body.metadata, resourceVersion: '3' } };
    json(res, 200, stored);
  };
  seen.length = 0;
  const bases: string[] = [];
  let round = 0;
  const written = await g.update<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'ns' } }, (current) => {
    round++;
    bases.push(current?.metadata.resourceVersion ?? '-');
    // First round: rv 1 was read, then the concurrent write (read 2) makes our PUT conflict.
    if (round === 1) stored = cm('a', '2', { n: '10' });
    return { ...current!, data: { n: String(Number(current!.data?.n) + 1) } };
  });
  assert.deepEqual(bases, ['1', '2']);
  assert.equal(written?.metadata.resourceVersion, '3');
  assert.deepEqual(written?.data, { n: '11' }, 'the change was made again on what the other writer left');
  const puts = seen.filter((s) => s.method === 'PUT');
  assert.deepEqual(puts.map((p) => (JSON.parse(p.body) as KubeObject).metadata.resourceVersion), ['1', '2']);

  // Absent: created. Always conflicting: gives up with a 409 KubeError.
  handle = (req, res) => (req.method === 'GET' ? json(res, 404, status(404, 'NotFound')) : json(res, 201, JSON.parse(req.body)));
  const created = await g.update({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b', namespace: 'ns' } }, (current) => (current ? undefined : cm('b')));
  assert.equal(created?.metadata.name, 'b');
  handle = (req, res) => (req.method === 'GET' ? json(res, 200, cm('c', '9')) : json(res, 409, status(409, 'Conflict')));
  await assert.rejects(g.update({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' } }, (c) => c, { attempts: 3 }), (err: unknown) => err instanceof KubeError && err.status === 409 && /gave up after 3 attempts/.test(err.message));
  // Nothing to write: no write.
  seen.length = 0;
  handle = (_req, res) => json(res, 200, cm('d', '4'));
  assert.equal((await g.update({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'd', namespace: 'ns' } }, () => undefined))?.metadata.resourceVersion, '4');
  assert.deepEqual(seen.map((s) => s.method), ['GET']);
});

test('delete sends the propagation and uid precondition; 404 and a foreign uid are "not deleted"; 503 is retried', async () => {
  const g = gateway();
  let answers = [503, 503, 200];
  handle = (_req, res) => {
    const code = answers.shift() ?? 200;
    json(res, code, code === 200 ? status(200, '') : status(code, 'ServiceUnavailable'));
  };
  assert.equal(await g.delete({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'ns', uid: 'u-1' } }), true);
  const deletes = seen.filter((s) => s.method === 'DELETE');
  assert.equal(deletes.length, 3);
  assert.deepEqual(JSON.parse(deletes[0]!.body), { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background', preconditions: { uid: 'u-1' } });
  answers = [404];
  assert.equal(await g.delete({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'ns' } }), false);
  answers = [409];
  assert.equal(await g.delete({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'ns', uid: 'u-2' } }), false);
  answers = [403];
  await assert.rejects(g.delete({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'ns' } }), (err: unknown) => err instanceof KubeError && err.status === 403);
});

test('a call without an answer in time fails after its retries', async () => {
  const g = gateway({ timeoutMs: 100, retries: 1 });
  handle = () => undefined; // never answers
  const t0 = Date.now();
  await assert.rejects(g.read(cm('slow')), (err: unknown) => err instanceof KubeError && err.status === undefined && /no answer from the Kubernetes API in time/.test(err.message));
  assert.ok(Date.now() - t0 >= 200);
  assert.equal(seen.filter((s) => s.path.endsWith('/slow')).length, 2);
});

test('a watch streams events split across chunks, with bookmarks and the query; ends when the server ends it', async () => {
  const g = gateway();
  handle = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const lines = [
      JSON.stringify({ type: 'ADDED', object: cm('a', '5') }),
      JSON.stringify({ type: 'BOOKMARK', object: { kind: 'ConfigMap', metadata: { resourceVersion: '9' } } }),
    ].join('\n') + '\n';
    res.write(lines.slice(0, 17));
    setTimeout(() => res.end(lines.slice(17)), 20);
  };
  const events: string[] = [];
  let opened = false;
  await g.watch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', plural: 'configmaps' }, {
    resourceVersion: '4', timeoutSeconds: 300, labelSelector: 'x=y', signal: new AbortController().signal,
    onOpen: () => (opened = true),
    onEvent: (e) => events.push(`${e.type} ${(e.object as KubeObject).metadata.resourceVersion}`),
  });
  assert.ok(opened);
  assert.deepEqual(events, ['ADDED 5', 'BOOKMARK 9']);
  const w = seen.at(-1)!;
  assert.deepEqual(['watch', 'resourceVersion', 'allowWatchBookmarks', 'timeoutSeconds', 'labelSelector'].map((k) => w.query.get(k)), ['true', '4', 'true', '300', 'x=y']);
  // A connection cut in the middle of the stream is a fault, not a routine end.
  handle = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write(`${JSON.stringify({ type: 'ADDED', object: cm('b', '6') })}\n`);
    setTimeout(() => res.socket?.destroy(), 20);
  };
  const cut: string[] = [];
  await assert.rejects(
    g.watch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', plural: 'configmaps' }, { resourceVersion: '5', timeoutSeconds: 300, signal: new AbortController().signal, onEvent: (e) => cut.push(e.type) }),
    /connection (aborted|closed)|aborted|socket hang up|ECONNRESET/,
  );
  assert.deepEqual(cut, ['ADDED']);
  // An error answer rejects with its status.
  handle = (_req, res) => json(res, 410, status(410, 'Gone', 'too old resource version'));
  await assert.rejects(
    g.watch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', plural: 'configmaps' }, { resourceVersion: '1', timeoutSeconds: 5, signal: new AbortController().signal, onEvent: () => undefined }),
    (err: unknown) => (err as { status?: number }).status === 410,
  );
});

test('a pod log tail is text; an error is shown as such', async () => {
  const g = gateway();
  handle = (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`line1\nline2 ${req.query.get('container')} ${req.query.get('tailLines')}\n`);
  };
  assert.equal(await g.podLogTail('ns', 'p1', 'main', 20), 'line1\nline2 main 20\n');
  assert.equal(seen.at(-1)!.path, '/api/v1/namespaces/ns/pods/p1/log');
  handle = (_req, res) => json(res, 400, status(400, 'BadRequest', 'container "x" in pod "p1" is waiting to start'));
  assert.equal(await g.podLogTail('ns', 'p1', 'x', 5), '(log not available: container "x" in pod "p1" is waiting to start)');
  assert.equal(await g.podLogTail('ns', 'p1', 'x', 0), '');
});
