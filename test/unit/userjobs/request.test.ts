import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseUserjobRequest, portOf, validNode } from '../../../src/userjobs/request.js';

const systems = ['JUWELS', 'hpc1'];
const good = { service: 'lab-1', hostname: 'hpc1', target_node: 'jwc01n001.juwels', ports: { '8080': '43210' }, jobid: 123 };

test('a good request, with the system in its configured spelling and ports as numbers', () => {
  const r = parseUserjobRequest({ ...good, hostname: 'juwels', ports: { '9000': 1, '8080': '43210' } }, systems, 10);
  assert.deepEqual(r, {
    ok: true,
    value: { service: 'lab-1', hostname: 'JUWELS', target_node: 'jwc01n001.juwels', jobid: '123', ports: [{ servicePort: 8080, nodePort: 43210 }, { servicePort: 9000, nodePort: 1 }] },
  });
});

test('missing keys are listed in order', () => {
  assert.deepEqual(parseUserjobRequest({}, systems, 10), { ok: false, status: 400, messages: ['Missing key: service', 'Missing key: hostname', 'Missing key: target_node', 'Missing key: ports'] });
  assert.deepEqual(parseUserjobRequest({ service: 'x', hostname: 'hpc1', ports: {} }, systems, 10), { ok: false, status: 400, messages: ['Missing key: target_node'] });
  assert.equal(parseUserjobRequest('text', systems, 10).ok, false);
  assert.equal(parseUserjobRequest([1], systems, 10).ok, false);
});

test('nothing that could become an ssh option or a second argument gets through', () => {
  for (const node of ['-oProxyCommand=x', 'a b', 'a:b', 'a;b', '', 'a..b', '.a', 'a.', 'x'.repeat(254), 'n\n1', '$(id)', 'a/b']) {
    assert.equal(validNode(node), false, JSON.stringify(node));
    const r = parseUserjobRequest({ ...good, target_node: node }, systems, 10);
    assert.ok(!r.ok && r.status === 400, JSON.stringify(node));
  }
  for (const node of ['localhost', '127.0.0.1', 'jwc01n001', 'node-1.cluster.example.org']) assert.equal(validNode(node), true, node);
});

test('ports: 1-65535 only, as numbers or decimal strings; a bounded count', () => {
  for (const v of ['0', '65536', '-1', '1e3', ' 22', '22 ', 'abc', 1.5, true, null, '0x10']) assert.equal(portOf(v), undefined, JSON.stringify(v));
  assert.equal(portOf('65535'), 65535);
  assert.equal(portOf(22), 22);
  const many = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [String(8000 + i), '22']));
  assert.equal(parseUserjobRequest({ ...good, ports: many }, systems, 10).ok, false);
  assert.equal(parseUserjobRequest({ ...good, ports: [] }, systems, 10).ok, false);
  assert.equal(parseUserjobRequest({ ...good, ports: { x: '22' } }, systems, 10).ok, false);
});

test('unknown system: 400 naming the configured ones; unusable service name: 404', () => {
  const r = parseUserjobRequest({ ...good, hostname: 'other' }, systems, 10);
  assert.deepEqual(r, { ok: false, status: 400, messages: ['Unknown hostname: other. Configured systems: JUWELS, hpc1'] });
  assert.deepEqual(parseUserjobRequest({ ...good, service: 'Not/A/Name' }, systems, 10), { ok: false, status: 404 });
  assert.equal(parseUserjobRequest({ ...good, jobid: 'x y' }, systems, 10).ok, false);
  assert.equal(parseUserjobRequest({ ...good, jobid: '123_4' }, systems, 10).ok, true);
});
