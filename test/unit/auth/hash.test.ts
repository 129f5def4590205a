import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_PARAMS, Hasher, isHash } from '../../../src/auth/hash.js';

void describe('Hasher', () => {
  void it('stores salted scrypt with its parameters, and verifies', async () => {
    const hasher = new Hasher();
    const a = await hasher.hash('s3cret');
    const b = await hasher.hash('s3cret');
    assert.match(a, new RegExp(`^scrypt\\$${DEFAULT_PARAMS.N}\\$8\\$1\\$`));
    assert.notEqual(a, b, 'salted');
    assert.ok(!a.includes('s3cret'));
    assert.equal(await hasher.verify('s3cret', a), true);
    assert.equal(await hasher.verify('s3cret!', a), false);
    assert.equal(hasher.computations, 4);
    assert.ok(isHash(a));
  });
  void it('verifies hashes made with other parameters (they are stored with the hash)', async () => {
    const cheap = await new Hasher({ N: 1024, r: 8, p: 1 }).hash('pw');
    assert.equal(await new Hasher().verify('pw', cheap), true);
  });
  void it('refuses unreadable or tampered hashes without hashing', async () => {
    const hasher = new Hasher();
    for (const bad of ['', 'plain', 'scrypt$1000$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==', `scrypt$${2 ** 30}$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==`]) {
      assert.equal(await hasher.verify('pw', bad), false);
      assert.equal(isHash(bad), false);
    }
    assert.equal(hasher.computations, 0);
  });
});
