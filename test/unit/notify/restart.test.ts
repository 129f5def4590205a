import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { notifyHub, restartUrl, type TunnelEntry } from '../../../src/notify/restart.js';
import { LogHub } from '../../../src/logging/hub.js';
import { createLogger } from '../../../src/logging/logger.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'k8smgr-notify-'));
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: tmp, stdio: 'pipe' });
openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=hub-ca', '-keyout', 'ca.key', '-out', 'ca.pem');
openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'hub.key', '-out', 'hub.csr');
writeFileSync(path.join(tmp, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
openssl('x509', '-req', '-in', 'hub.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'ext.cnf', '-out', 'hub.pem');

let tlsRequests = 0;
const hub = https.createServer({ key: readFileSync(path.join(tmp, 'hub.key')), cert: readFileSync(path.join(tmp, 'hub.pem')) }, (req, res) => {
  tlsRequests++;
  req.resume();
  req.on('end', () => res.writeHead(204).end());
});
// A hub that accepts connections and never answers.
const silent = net.createServer(() => {});
await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r));
await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
after(() => {
  hub.close();
  silent.close();
});
const port = (s: net.Server) => (s.address() as net.AddressInfo).port;
const logger = createLogger(new LogHub());
const entry = (over: Partial<TunnelEntry>): TunnelEntry => ({
  hostname: 'mgr', restart_url: '', restart_url_stage: {}, timeout: 5, certificate_path: false, cred_env_name: 'TUNNEL_BASIC', retry_deadline: 2, ...over,
});
const opts = { stage: 'prod', lookup: () => 'Basic eA==', logger, backoffMs: 200 };

test('with the hub CA the POST succeeds at once', async () => {
  const outcome = await notifyHub(entry({ restart_url: `https://127.0.0.1:${port(hub)}/r`, certificate_path: path.join(tmp, 'ca.pem') }), opts);
  assert.deepEqual({ ok: outcome.ok, attempts: outcome.attempts, status: outcome.status }, { ok: true, attempts: 1, status: 204 });
  assert.equal(tlsRequests, 1);
});

test('without the CA the TLS handshake fails: retried with backoff until the deadline, then given up', async () => {
  const began = Date.now();
  const outcome = await notifyHub(entry({ restart_url: `https://127.0.0.1:${port(hub)}/r` }), opts);
  assert.equal(outcome.ok, false);
  assert.ok(outcome.attempts >= 3, `attempts: ${outcome.attempts}`);
  assert.match(outcome.error ?? '', /certificate/i);
  assert.ok(Date.now() - began < 4000);
  assert.equal(tlsRequests, 1, 'no request reached the hub without a trusted certificate');
});

test('the timeout is honoured for a hub that never answers', async () => {
  const began = Date.now();
  const outcome = await notifyHub(entry({ restart_url: `http://127.0.0.1:${port(silent)}/r`, timeout: 0.3, retry_deadline: 0 }), opts);
  const elapsed = Date.now() - began;
  assert.equal(outcome.ok, false);
  assert.equal(outcome.attempts, 1);
  assert.match(outcome.error ?? '', /no answer within 300 ms/);
  assert.ok(elapsed >= 250 && elapsed < 2000, `elapsed ${elapsed} ms`);
});

test('a per-stage URL wins over restart_url', () => {
  assert.equal(restartUrl(entry({ restart_url: 'https://a', restart_url_stage: { prod: 'https://b' } }), 'prod'), 'https://b');
  assert.equal(restartUrl(entry({ restart_url: 'https://a', restart_url_stage: { prod: 'https://b' } }), 'dev'), 'https://a');
});
