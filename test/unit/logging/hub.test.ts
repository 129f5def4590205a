import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogHub, type LogHandler } from '../../../src/logging/hub.js';
import { createLogger } from '../../../src/logging/logger.js';
import type { LogRecord } from '../../../src/logging/record.js';

class Collect implements LogHandler {
  readonly records: LogRecord[] = [];
  constructor(readonly type: string, readonly level: number) {}
  handle(record: LogRecord): void {
    this.records.push(record);
  }
  async close(): Promise<void> {}
}

test('each handler gets the records at or above its level; records below every level are not even parsed', async () => {
  const hub = new LogHub();
  const info = new Collect('stream', 20);
  const errors = new Collect('smtp', 40);
  await hub.set(info);
  await hub.set(errors);
  const log = createLogger(hub);
  log.debug('dropped');
  log.info('one');
  log.error('two');
  assert.deepEqual(info.records.map((r) => r.msg), ['one', 'two']);
  assert.deepEqual(errors.records.map((r) => r.msg), ['two']);

  let parsed = 0;
  const realParse = JSON.parse;
  JSON.parse = ((text: string, reviver?: never) => {
    parsed++;
    return realParse(text, reviver);
  }) as typeof JSON.parse;
  try {
    for (let i = 0; i < 100; i++) log.debug('below every handler');
  } finally {
    JSON.parse = realParse;
  }
  assert.equal(parsed, 0);

  // A lower-level handler makes debug records flow again; removing it stops them.
  const debug = new Collect('file', 10);
  await hub.set(debug);
  log.debug('now seen');
  assert.deepEqual(debug.records.map((r) => r.msg), ['now seen']);
  await hub.remove('file');
  log.debug('gone again');
  assert.equal(info.records.length, 2);
});

test('a handler that throws is counted and does not stop the others', async () => {
  const hub = new LogHub();
  const good = new Collect('stream', 10);
  await hub.set({ type: 'file', level: 10, handle: () => { throw new Error('disk full'); }, close: async () => {} });
  await hub.set(good);
  const failures: string[] = [];
  hub.onHandlerError = (type) => failures.push(type);
  createLogger(hub).info('still delivered');
  assert.deepEqual(good.records.map((r) => r.msg), ['still delivered']);
  assert.equal(hub.errorCount, 1);
  assert.deepEqual(failures, ['file']);
});
