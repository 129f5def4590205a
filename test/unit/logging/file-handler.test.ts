// Rotation after Python's TimedRotatingFileHandler, with an injected clock.
process.env.TZ = 'UTC';
import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { FileHandler, nextRollover, scheduleFor } from '../../../src/logging/file-handler.js';
import { handlerFactory } from '../../../src/logging/factory.js';
import type { LogRecord } from '../../../src/logging/record.js';

const rec = (msg: string, time: number): LogRecord => ({ level: 20, time, msg });

async function tmpdir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'k8smgr-file-'));
}

test('next rollover: intervals, midnight and weekdays (Monday = W0)', () => {
  const wed = Date.UTC(2026, 0, 7, 12, 0, 0); // a Wednesday
  assert.equal(nextRollover(scheduleFor('S'), wed), wed + 1000);
  assert.equal(nextRollover(scheduleFor('M', 5), wed), wed + 5 * 60_000);
  assert.equal(nextRollover(scheduleFor('H'), wed), wed + 3_600_000);
  assert.equal(nextRollover(scheduleFor('D'), wed), wed + 86_400_000);
  assert.equal(nextRollover(scheduleFor('midnight'), wed), Date.UTC(2026, 0, 8));
  assert.equal(nextRollover(scheduleFor('W0'), wed), Date.UTC(2026, 0, 12)); // next Monday 00:00
  assert.equal(nextRollover(scheduleFor('W3'), wed), Date.UTC(2026, 0, 8)); // Thursday 00:00
  assert.equal(nextRollover(scheduleFor('W2'), wed), Date.UTC(2026, 0, 14)); // a week on
  assert.throws(() => scheduleFor('W9'));
});

test('when=S rotates each second to <name>.<date_time> and keeps backupCount files', async () => {
  const dir = await tmpdir();
  const filename = path.join(dir, 'manager.log');
  const t0 = Date.UTC(2026, 0, 5, 10, 0, 0);
  let now = t0;
  const handler = await FileHandler.open({ filename, level: 10, formatter: 'simple', when: 'S', backupCount: 2, now: () => now });
  for (const [i, msg] of ['first', 'second', 'third', 'fourth'].entries()) {
    now = t0 + i * 1000 + 500;
    handler.handle(rec(msg, now));
    await handler.flush();
  }
  await handler.close();
  const files = (await fs.readdir(dir)).sort();
  assert.deepEqual(files, ['manager.log', 'manager.log.2026-01-05_10-00-01', 'manager.log.2026-01-05_10-00-02']);
  assert.match(await fs.readFile(path.join(dir, 'manager.log.2026-01-05_10-00-01'), 'utf8'), /INFO second\n$/);
  assert.match(await fs.readFile(path.join(dir, 'manager.log.2026-01-05_10-00-02'), 'utf8'), /INFO third\n$/);
  assert.match(await fs.readFile(filename, 'utf8'), /^2026-01-05T10:00:03.500Z INFO fourth\n$/);
});

test('when=midnight names the rotated file after the day that ended; other files are left alone', async () => {
  const dir = await tmpdir();
  const filename = path.join(dir, 'file.log');
  await fs.writeFile(path.join(dir, 'file.log.notes'), 'keep me');
  let now = Date.UTC(2026, 0, 5, 23, 59, 58);
  const handler = await FileHandler.open({ filename, level: 10, formatter: 'json', when: 'midnight', backupCount: 1, now: () => now });
  handler.handle(rec('monday', now));
  await handler.flush();
  now = Date.UTC(2026, 0, 6, 0, 0, 1);
  handler.handle(rec('tuesday', now));
  await handler.flush();
  now = Date.UTC(2026, 0, 7, 8, 0, 0);
  handler.handle(rec('wednesday', now));
  await handler.close();
  assert.deepEqual((await fs.readdir(dir)).sort(), ['file.log', 'file.log.2026-01-06', 'file.log.notes']);
  const rotated = JSON.parse((await fs.readFile(path.join(dir, 'file.log.2026-01-06'), 'utf8')).trim()) as Record<string, unknown>;
  assert.equal(rotated.msg, 'tuesday');
  assert.equal(rotated.levelname, 'INFO');
  assert.match(await fs.readFile(filename, 'utf8'), /"msg":"wednesday"/);
});

test('backupCount 0 keeps every rotated file', async () => {
  const dir = await tmpdir();
  const filename = path.join(dir, 'all.log');
  const t0 = Date.UTC(2026, 0, 5, 10, 0, 0);
  let now = t0;
  const handler = await FileHandler.open({ filename, level: 10, formatter: 'simple', when: 'M', backupCount: 0, now: () => now });
  for (let i = 0; i < 5; i++) {
    now = t0 + i * 60_000 + 1;
    handler.handle(rec(`m${i}`, now));
    await handler.flush();
  }
  await handler.close();
  assert.equal((await fs.readdir(dir)).length, 5);
});

test('a file that cannot be written is an error when the handler is built', async () => {
  const build = handlerFactory();
  await assert.rejects(
    build('file', { formatter: 'simple', level: 10, filename: '/nonexistent-dir/x.log', when: 'midnight', backupCount: 7 }),
    /ENOENT/,
  );
});
