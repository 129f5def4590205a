import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogHub, type LogHandler } from '../../../src/logging/hub.js';
import { createLogger } from '../../../src/logging/logger.js';
import { formatSimple, type LogRecord } from '../../../src/logging/record.js';
import { redact, SecretValues } from '../../../src/logging/redact.js';

class Capture implements LogHandler {
  readonly records: LogRecord[] = [];
  constructor(
    readonly type: string,
    readonly level: number,
  ) {}
  handle(record: LogRecord): void {
    this.records.push(record);
  }
  async close(): Promise<void> {}
}

async function setup(level = 5) {
  const hub = new LogHub();
  const capture = new Capture('capture', level);
  await hub.set(capture);
  return { hub, capture, log: createLogger(hub) };
}

test('levels: TRACE 5 … CRITICAL 50; a handler gets records at or above its level; 99 is off', async () => {
  const { hub, capture, log } = await setup(30);
  const off = new Capture('off', 99);
  await hub.set(off);
  log.trace('t');
  log.debug('d');
  log.info('i');
  log.warning('w');
  log.error('e');
  log.critical('c');
  assert.deepEqual(capture.records.map((r) => [r.level, r.msg]), [[30, 'w'], [40, 'e'], [50, 'c']]);
  assert.equal(off.records.length, 0);
  assert.match(formatSimple(capture.records[2] as LogRecord), /^\d{4}-\d\d-\d\dT[\d:.]+Z CRITICAL c$/);
});

test('keys that clash with record fields do not break the record', async () => {
  const { capture, log } = await setup();
  log.info({ filename: 'a.yaml', level: 'bogus', time: 'then', msg: 'inner', levelname: 'X', pid: 1 }, 'outer');
  log.info({ msg: 'only in the object' });
  const [first, second] = capture.records;
  assert.equal(first?.level, 20);
  assert.equal(first?.msg, 'outer');
  assert.equal(typeof first?.time, 'number');
  assert.equal(first?.filename, 'a.yaml');
  assert.equal(first?.extra_level, 'bogus');
  assert.equal(first?.extra_msg, 'inner');
  assert.equal(first?.extra_levelname, 'X');
  assert.equal(second?.msg, 'only in the object');
});

test('errors are logged with type, message and stack', async () => {
  const { capture, log } = await setup();
  log.error({ err: new TypeError('bad thing with Bearer abcdefghijk') }, 'failed');
  const err = capture.records[0]?.err as Record<string, unknown>;
  assert.equal(err.type, 'TypeError');
  assert.equal(err.message, 'bad thing with Bearer ***');
  assert.match(String(err.stack), /TypeError/);
});

test('redact masks secret keys, whole env, Secret data and header values', () => {
  const out = redact({
    headers: { authorization: 'Basic dXNlcjpwYXNz', Authentication: 'x', accept: 'json' },
    body: { env: { JUPYTERHUB_API_TOKEN: 'tok', A: 'b' }, certs: { key: 'k' }, user_options: { service: 'x/y' } },
    JUPYTERHUB_SSL_CERTFILE_DATA: 'pem',
    object: { kind: 'Secret', metadata: { name: 's' }, data: { a: 'YQ==' } },
    password: '',
  }) as Record<string, Record<string, unknown>>;
  assert.deepEqual(out.headers, { authorization: '***', Authentication: '***', accept: 'json' });
  assert.deepEqual(out.body, { env: '***', certs: '***', user_options: { service: 'x/y' } });
  assert.equal(out.JUPYTERHUB_SSL_CERTFILE_DATA, '***');
  assert.equal(out.object?.data, '***');
  assert.equal(out.password, '');
});

test('registered secret values are masked anywhere in the line, also JSON-escaped', async () => {
  const { hub, capture, log } = await setup();
  hub.secrets.add(['s3cr3t-value', 'quote"d\\secret', 'short'.slice(0, 3)]);
  log.info({ note: 'contains s3cr3t-value inside', nested: { v: 'quote"d\\secret' } }, 'message with s3cr3t-value');
  const line = JSON.stringify(capture.records[0]);
  assert.doesNotMatch(line, /s3cr3t-value|quote/);
  assert.equal(capture.records[0]?.msg, 'message with ***');
  const values = new SecretValues(2, 6, () => 0);
  values.add(['aaaaaa1', 'aaaaaa2', 'aaaaaa3']);
  assert.equal(values.size, 2);
  assert.equal(values.mask('aaaaaa1 aaaaaa3'), 'aaaaaa1 ***');
});
