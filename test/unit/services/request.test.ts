import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStartRequest } from '../../../src/services/request.js';
import { parseConfig } from '../../../src/config/parse.js';

const cfg = parseConfig('{"services": {"custom_headers_keys": ["x-site"]}}').config.services;
const good = () => ({
  start_id: 'abcd1234',
  user_options: { service: 'jupyterlab/default', cpu: '1' },
  env: { JUPYTERHUB_STATUS_URL: 'http://hub/status', JUPYTERHUB_API_TOKEN: 'tok', JUPYTERHUB_USER_ID: 7, OTHER: { a: 1 } },
});
const headers = { uuidcode: 'srv-1' };

test('missing keys answer in the original order with its message', () => {
  const cases: Array<[(b: Record<string, any>) => void, string]> = [
    [(b) => delete b.env, 'env'],
    [(b) => delete b.env.JUPYTERHUB_STATUS_URL, 'env.JUPYTERHUB_STATUS_URL'],
    [(b) => delete b.env.JUPYTERHUB_API_TOKEN, 'env.JUPYTERHUB_API_TOKEN'],
    [(b) => delete b.env.JUPYTERHUB_USER_ID, 'env.JUPYTERHUB_USER_ID'],
    [(b) => delete b.user_options, 'user_options'],
    [(b) => delete b.user_options.service, 'user_options.service'],
    [(b) => delete b.start_id, 'start_id'],
  ];
  for (const [mutate, key] of cases) {
    const body: Record<string, any> = good();
    mutate(body);
    assert.deepEqual(parseStartRequest(headers, body, cfg), [`Missing key in input data: ${key}`]);
  }
  // Several missing: the first in that order is named.
  assert.deepEqual(parseStartRequest(headers, { start_id: 'x' }, cfg), ['Missing key in input data: env']);
});

test('bad values: non-integer user id, missing or invalid uuidcode, bad start_id', () => {
  const body = good();
  (body.env as Record<string, unknown>).JUPYTERHUB_USER_ID = 'seven';
  assert.match((parseStartRequest(headers, body, cfg) as string[])[0] ?? '', /JUPYTERHUB_USER_ID must be an integer/);
  assert.deepEqual(parseStartRequest({}, good(), cfg), ['Missing header: uuidcode']);
  assert.match((parseStartRequest({ uuidcode: '../etc' }, good(), cfg) as string[])[0] ?? '', /Invalid uuidcode/);
  assert.match((parseStartRequest({ uuidcode: 'A'.repeat(10) }, good(), cfg) as string[])[0] ?? '', /Invalid uuidcode/);
  assert.match((parseStartRequest(headers, { ...good(), start_id: 'ab/cd' }, cfg) as string[])[0] ?? '', /Invalid start_id/);
});

test('a good request: env values as strings, access-token and custom headers taken in', () => {
  const req = parseStartRequest({ ...headers, 'access-token': 'at', 'x-site': 'jsc' }, good(), cfg);
  assert.ok(!Array.isArray(req));
  assert.equal(req.servername, 'srv-1');
  assert.equal(req.startId, 'abcd1234');
  assert.equal(req.service, 'jupyterlab/default');
  assert.equal(req.userId, 7);
  assert.deepEqual(req.env, {
    JUPYTERHUB_STATUS_URL: 'http://hub/status', JUPYTERHUB_API_TOKEN: 'tok', JUPYTERHUB_USER_ID: '7', OTHER: '{"a":1}',
    ACCESS_TOKEN: 'at', 'x-site': 'jsc',
  });
  assert.equal(req.certs, undefined);
});

test('certs must carry key, cert and CA', () => {
  assert.match((parseStartRequest(headers, { ...good(), certs: { keyfile: 'k' } }, cfg) as string[])[0] ?? '', /certs must be/);
  const req = parseStartRequest(headers, { ...good(), certs: { keyfile: 'k', certfile: 'c', cafile: 'a' } }, cfg);
  assert.ok(!Array.isArray(req));
  assert.deepEqual(req.certs, { keyfile: 'k', certfile: 'c', cafile: 'a' });
});

test('a servername too long for `<prefix><servername>-<start_id>` is refused', () => {
  const ok = parseStartRequest({ uuidcode: 'a'.repeat(49) }, good(), cfg);
  assert.ok(!Array.isArray(ok));
  const long = parseStartRequest({ uuidcode: 'a'.repeat(50) }, good(), cfg) as string[];
  assert.match(long[0] ?? '', /at most 49 fit in a Kubernetes name/);
});
