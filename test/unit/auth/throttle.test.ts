import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoginThrottle } from '../../../src/auth/throttle.js';

void describe('LoginThrottle', () => {
  void it('refuses a source after maxFailures within the window, until the oldest leaves it', () => {
    let now = 1_000_000;
    const t = new LoginThrottle({ maxFailures: 3, windowMs: 60_000, now: () => now });
    for (let i = 0; i < 3; i++) {
      assert.equal(t.retryAfter('1.2.3.4'), 0);
      t.recordFailure('1.2.3.4');
      now += 1000;
    }
    assert.equal(t.retryAfter('1.2.3.4'), 57); // first failure at +0 leaves the window at +60 s
    assert.equal(t.retryAfter('5.6.7.8'), 0, 'other sources are not affected');
    now += 57_000;
    assert.equal(t.retryAfter('1.2.3.4'), 0);
    t.recordFailure('1.2.3.4');
    assert.ok(t.retryAfter('1.2.3.4') > 0, 'sliding: the two recent failures still count');
  });
  void it('forgets old failures and bounds the tracked sources', () => {
    let now = 0;
    const t = new LoginThrottle({ maxFailures: 2, windowMs: 1000, maxSources: 100, now: () => now });
    for (let i = 0; i < 500; i++) t.recordFailure(`10.0.${i >> 8}.${i & 255}`);
    assert.equal(t.trackedSources, 100);
    now = 5000;
    assert.equal(t.retryAfter('10.0.1.243'), 0);
  });
});
