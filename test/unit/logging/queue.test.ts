import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedQueue } from '../../../src/logging/queue.js';

test('a full queue drops and counts instead of waiting', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const consumed: number[] = [];
  const queue = new BoundedQueue<number>(async (batch) => {
    await gate;
    consumed.push(...batch);
  }, 3, 10);
  assert.equal(queue.push(1), true); // taken by the consumer at once
  for (let i = 2; i <= 10; i++) queue.push(i);
  assert.equal(queue.stats.dropped, 6);
  assert.equal(queue.stats.queued, 3);
  release();
  await queue.flush();
  assert.deepEqual(consumed, [1, 2, 3, 4]);
});

test('a failing consumer is counted and the queue goes on', async () => {
  const queue = new BoundedQueue<number>(async (batch) => {
    if (batch.includes(1)) throw new Error('disk full');
  }, 10, 1);
  queue.push(1);
  queue.push(2);
  await queue.flush();
  assert.equal(queue.stats.failed, 1);
  assert.equal(queue.stats.lastError, 'disk full');
});

test('close drops what cannot be drained in time', async () => {
  const queue = new BoundedQueue<number>(() => new Promise(() => {}), 10, 1);
  queue.push(1);
  queue.push(2);
  await queue.close(20);
  assert.equal(queue.push(3), false);
  assert.equal(queue.stats.dropped, 2);
});
