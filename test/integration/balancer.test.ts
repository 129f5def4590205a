// The HAProxy load balancer of test/helpers/balancer.ts, with two small HTTP servers
// as backends that answer with their own id: round robin, health checks that take a
// backend out and put it back, and requests that still succeed when a backend dies.
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startBalancer, type Balancer } from '../helpers/balancer.js';

interface Backend {
  id: string;
  url: string;
  /** Answer 503 on the health path. */
  unhealthy: boolean;
  /** Close the connection of every request (not the health check's) without an answer. */
  drop: boolean;
  /** Requests (not health checks) this backend answered, with their method. */
  served: string[];
  close(): Promise<void>;
}

async function backend(id: string): Promise<Backend> {
  const sockets = new Set<net.Socket>();
  const b: Backend = { id, url: '', unhealthy: false, drop: false, served: [], close: async () => undefined };
  const server = http.createServer((req, res) => {
    if (req.url === '/api/ready/') {
      res.writeHead(b.unhealthy ? 503 : 200, { 'content-type': 'text/plain' }).end(b.unhealthy ? 'not ready' : 'ok');
      return;
    }
    if (b.drop) {
      req.socket.destroy();
      return;
    }
    req.resume();
    req.on('end', () => {
      b.served.push(req.method ?? '?');
      res.writeHead(200, { 'content-type': 'text/plain' }).end(id);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  b.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  b.close = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  return b;
}

// One keep-alive connection pool to the balancer, as a hub's HTTP client has.
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

function request(base: string, method = 'GET', body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}/api/services/x/`, { method, agent, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function ids(base: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await request(base);
    assert.equal(r.status, 200, `request ${i}: ${r.status} ${r.body}`);
    out.push(r.body);
  }
  return out;
}

void describe('load balancer (HAProxy)', () => {
  let a: Backend;
  let b: Backend;
  let lb: Balancer;

  before(async () => {
    a = await backend('A');
    b = await backend('B');
    lb = await startBalancer({ backends: [a.url, b.url] });
    await lb.waitForBackend(0, 'UP');
    await lb.waitForBackend(1, 'UP');
  });

  after(async () => {
    agent.destroy();
    await lb?.stop();
    await a?.close();
    await b?.close();
  });

  void it('alternates consecutive requests between the backends (round robin)', async () => {
    const seen = await ids(lb.url, 8);
    assert.deepEqual(new Set(seen), new Set(['A', 'B']), `both backends answer: ${seen.join(' ')}`);
    for (let i = 1; i < seen.length; i++) assert.notEqual(seen[i], seen[i - 1], `alternates: ${seen.join(' ')}`);
    const stats = await lb.stats();
    assert.deepEqual(stats.map((s) => [s.name, s.url, s.status, s.checkStatus]), [
      ['b0', a.url, 'UP', 'L7OK'],
      ['b1', b.url, 'UP', 'L7OK'],
    ]);
  });

  void it('takes a backend whose health path answers 503 out within 2 s, and puts it back when it is 200 again', async () => {
    const t0 = Date.now();
    a.unhealthy = true;
    // Traffic goes only to B as soon as HAProxy has seen two failed checks (500 ms apart).
    for (;;) {
      const seen = await ids(lb.url, 4);
      if (seen.every((id) => id === 'B')) break;
      assert.ok(Date.now() - t0 < 2500, `still sent to A after ${Date.now() - t0} ms: ${seen.join(' ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const tookMs = Date.now() - t0;
    const [sa] = await lb.stats();
    assert.equal(sa?.status, 'DOWN');
    assert.equal(sa?.checkStatus, 'L7STS', 'down for its status code');
    assert.ok(tookMs <= 2500, `out after ${tookMs} ms`);
    const servedByA = a.served.length;
    assert.deepEqual(new Set(await ids(lb.url, 10)), new Set(['B']));
    assert.equal(a.served.length, servedByA, 'A got no request while down');
    assert.match(lb.output(), /Server managers\/b0 is DOWN/);

    a.unhealthy = false;
    await lb.waitForBackend(0, 'UP', 3000); // rise 1: the next good check
    // Both serve again. Right after the server comes UP, HAProxy's round robin may send a few in a row
    // to one of them (a CI run saw 4 of 4 go to A), so look over a few rounds.
    const back = new Set<string>();
    for (let round = 0; round < 5 && back.size < 2; round++) for (const id of await ids(lb.url, 4)) back.add(id);
    assert.deepEqual(back, new Set(['A', 'B']));
  });

  void it('retries a GET whose backend closes the connection without an answer on the other backend, but not a POST', async () => {
    a.drop = true;
    try {
      const before = a.served.length + b.served.length;
      const seen = await ids(lb.url, 6); // asserts every answer is 200
      assert.deepEqual(new Set(seen), new Set(['B']));
      assert.equal(a.served.length + b.served.length - before, 6, 'each request was answered once');
      const [sa] = await lb.stats();
      assert.ok((sa?.retries ?? 0) + (sa?.redispatches ?? 0) > 0, `HAProxy counted retries on A: ${JSON.stringify(sa)}`);

      // A POST that reached A is not sent again: the client gets the error (a 502, or on a
      // reused keep-alive connection HAProxy closes it without an answer) and B never sees it.
      const postsOnB = b.served.filter((m) => m === 'POST').length;
      const answers: (number | string)[] = [];
      for (let i = 0; i < 4; i++) {
        answers.push(await request(lb.url, 'POST', '{"start":1}').then((r) => r.status, (err: Error) => err.message));
      }
      assert.ok(answers.some((s) => s !== 200), `a POST to A was not retried: ${answers.join(', ')}`);
      assert.ok(answers.every((s) => s === 200 || s === 502 || s === 'socket hang up'), answers.join(', '));
      assert.equal(answers.filter((s) => s === 200).length, b.served.filter((m) => m === 'POST').length - postsOnB);
    } finally {
      a.drop = false;
    }
  });

  void it('still answers every request when a backend is killed, before and after its health check notices', async () => {
    await lb.waitForBackend(0, 'UP');
    await ids(lb.url, 4); // keep-alive connections from HAProxy to both backends
    await a.close();
    const t0 = Date.now();
    // Right after the kill HAProxy still thinks A is UP: requests sent there meet a refused
    // connection and are redispatched to B.
    const seen = await ids(lb.url, 6);
    assert.deepEqual(new Set(seen), new Set(['B']));
    // A refused connection means the request never reached a backend: a POST is retried too.
    for (let i = 0; i < 4; i++) assert.deepEqual(await request(lb.url, 'POST', '{}'), { status: 200, body: 'B' });
    const [early] = await lb.stats();
    if (Date.now() - t0 < 500) assert.notEqual(early?.status, 'DOWN', 'the requests above ran before A was marked DOWN');
    assert.ok((early?.connectionErrors ?? 0) > 0 || (early?.redispatches ?? 0) > 0, `A's failures were counted: ${JSON.stringify(early)}`);
    await lb.waitForBackend(0, 'DOWN', 3000);
    assert.equal((await lb.stats())[0]?.checkStatus, 'L4CON', 'down for a refused connection');
    assert.deepEqual(new Set(await ids(lb.url, 6)), new Set(['B']));
  });
});

void describe('startBalancer errors', () => {
  void it('throws a clear Error when haproxy is not there', async () => {
    const saved = process.env.HAPROXY_BINARY;
    process.env.HAPROXY_BINARY = '/nonexistent/haproxy';
    try {
      await assert.rejects(startBalancer({ backends: ['http://127.0.0.1:1'] }), /could not be started.*apt-get install -y haproxy/s);
    } finally {
      if (saved === undefined) delete process.env.HAPROXY_BINARY;
      else process.env.HAPROXY_BINARY = saved;
    }
  });

  void it('rejects a backend that is not http://HOST:PORT', async () => {
    await assert.rejects(startBalancer({ backends: ['https://127.0.0.1:8443'] }), /want http:\/\/HOST:PORT/);
    await assert.rejects(startBalancer({ backends: ['http://127.0.0.1:8080/api'] }), /no path/);
  });
});
