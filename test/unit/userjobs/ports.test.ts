import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { isPortFree, PortAllocator } from '../../../src/userjobs/ports.js';

test('the lowest free ports, skipping used, reserved and busy ones', async () => {
  const busy = new Set([40002]);
  const alloc = new PortAllocator(() => [40000, 40005], () => '0.0.0.0', async (_a, p) => !busy.has(p));
  assert.deepEqual(await alloc.reserve(2, [40000]), [40001, 40003]);
  assert.deepEqual(await alloc.reserve(1, [40000]), [40004]);
  await assert.rejects(alloc.reserve(3, [40000]), /no free local port left in 40000-40005/);
  alloc.release([40001]);
  assert.deepEqual(await alloc.reserve(1, [40000]), [40001]);
});

test('concurrent reservations never share a port', async () => {
  const alloc = new PortAllocator(() => [40000, 40009], () => '0.0.0.0', async () => {
    await new Promise((r) => setTimeout(r, 5));
    return true;
  });
  const [a, b] = await Promise.all([alloc.reserve(3, []), alloc.reserve(3, [])]);
  assert.equal(new Set([...a, ...b]).size, 6);
});

test('isPortFree sees a listening socket', async () => {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
  const port = (server.address() as net.AddressInfo).port;
  assert.equal(await isPortFree('0.0.0.0', port), false);
  await new Promise((r) => server.close(r));
  assert.equal(await isPortFree('0.0.0.0', port), true);
});
