import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LogHub } from '../../../src/logging/hub.js';
import { createLogger } from '../../../src/logging/logger.js';
import { pushTarget, UsagePusher } from '../../../src/flavors/push.js';

async function receiver(answer: (n: number) => number | 'hang') {
  const got: Array<{ auth: string | undefined; body: unknown }> = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      got.push({ auth: req.headers.authorization, body: JSON.parse(text) });
      const status = answer(got.length);
      if (status === 'hang') return;
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/flavors`;
  return { got, url, close: () => { server.closeAllConnections(); return new Promise((r) => server.close(r)); } };
}

test('the push target comes from the start\'s env; other schemes and junk are ignored', () => {
  assert.deepEqual(pushTarget({ JUPYTERHUB_FLAVORS_UPDATE_URL: 'https://hub/api/x', JUPYTERHUB_API_TOKEN: 't' }), { url: 'https://hub/api/x', token: 't' });
  assert.equal(pushTarget({ JUPYTERHUB_API_TOKEN: 't' }), undefined);
  assert.equal(pushTarget({ JUPYTERHUB_FLAVORS_UPDATE_URL: 'file:///etc/passwd' }), undefined);
  assert.equal(pushTarget({ JUPYTERHUB_FLAVORS_UPDATE_URL: 'not a url' }), undefined);
  assert.equal(pushTarget(undefined), undefined);
});

test('a failing hub is retried; a hanging one times out; the token is sent, never logged', async () => {
  const lines: string[] = [];
  const hub = new LogHub();
  const logger = createLogger(hub);
  const orig = logger.warning.bind(logger);
  (logger as unknown as { warning: (...a: unknown[]) => void }).warning = (...a: unknown[]) => {
    lines.push(JSON.stringify(a));
    (orig as (...b: unknown[]) => void)(...a);
  };
  const r = await receiver((n) => (n < 3 ? 503 : 200));
  const pusher = new UsagePusher({ logger, backoffMs: 10, timeoutMs: 500 });
  pusher.push({ url: r.url, token: 'secret-tok' }, () => ({ small: { current: 1 } }));
  await pusher.idle();
  assert.equal(r.got.length, 3);
  assert.deepEqual(r.got.map((g) => g.auth), ['token secret-tok', 'token secret-tok', 'token secret-tok']);
  assert.deepEqual(r.got[2]?.body, { small: { current: 1 } });
  await r.close();

  const hang = await receiver(() => 'hang');
  const started = Date.now();
  pusher.push({ url: `${hang.url}?token=x`, token: 'secret-tok' }, () => ({}));
  await pusher.idle();
  assert.equal(hang.got.length, 4);
  assert.ok(Date.now() - started < 5000);
  assert.equal(lines.length, 1);
  assert.match(lines[0] ?? '', /flavor usage push failed/);
  assert.ok(!lines.join('').includes('secret-tok') && !lines.join('').includes('token=x'));
  await hang.close();
});

test('pushes asked for while one is under way are sent once after it, with the usage of that moment', async () => {
  const r = await receiver(() => 200);
  const pusher = new UsagePusher({ logger: createLogger(new LogHub()) });
  let usage = 1;
  pusher.push({ url: r.url, token: 'a' }, () => ({ n: usage })); // sent at once, with n = 1
  for (let i = 0; i < 5; i++) pusher.push({ url: r.url, token: 'b' }, () => ({ n: usage }));
  usage = 7;
  await pusher.idle();
  assert.deepEqual(r.got.map((g) => g.body), [{ n: 1 }, { n: 7 }]);
  assert.equal(r.got[1]?.auth, 'token b');
  await r.close();
});
