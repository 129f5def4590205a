import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryBackend, type CredentialBackend, type StoredDoc } from '../../../src/auth/backend.js';
import { CredentialError, parseDoc, type CredentialDoc } from '../../../src/auth/document.js';
import { CredentialStore } from '../../../src/auth/store.js';
import { cheapHasher, tokenSecret } from './support.js';

void describe('CredentialStore (memory backend)', () => {
  void it('creates, updates, lists without hashes, removes', async () => {
    const backend = new MemoryBackend();
    const store = new CredentialStore(backend, { hasher: cheapHasher() });
    assert.deepEqual(await store.createOrUpdate('hub', { password: 'pw-one', groups: ['access_to_webservice'] }), { created: true, changed: true });
    assert.deepEqual(await store.createOrUpdate('hub', { password: 'pw-one', groups: ['access_to_webservice'] }), { created: false, changed: false });
    assert.deepEqual(await store.createOrUpdate('hub', { password: 'pw-two', groups: ['access_to_logging', 'access_to_webservice'] }), { created: false, changed: true });
    const token = await store.createToken('hub');
    const list = await store.list();
    assert.equal(list.length, 1);
    assert.deepEqual(list[0]!.groups, ['access_to_logging', 'access_to_webservice']);
    assert.equal(list[0]!.hasPassword, true);
    assert.equal(list[0]!.tokens.length, 1);
    assert.ok(!JSON.stringify(list).includes('scrypt'), 'no hashes in list()');
    const raw = backend.raw ?? '';
    for (const secret of ['pw-one', 'pw-two', token, tokenSecret(token)]) assert.ok(!raw.includes(secret));
    assert.equal(await store.remove('hub'), true);
    assert.equal(await store.remove('hub'), false);
    assert.deepEqual(await store.list(), []);
  });

  void it('unchanged password keeps the stored hash (a restart writes nothing)', async () => {
    const backend = new MemoryBackend();
    const store = new CredentialStore(backend, { hasher: cheapHasher() });
    await store.createOrUpdate('hub', { password: 'same', groups: ['access_to_webservice'] });
    const before = backend.raw;
    const again = new CredentialStore(backend, { hasher: cheapHasher() });
    await again.createOrUpdate('hub', { password: 'same', groups: ['access_to_webservice'] });
    assert.equal(backend.raw, before);
  });

  void it('rejects bad names, groups, passwords and unknown credentials with CredentialError', async () => {
    const store = new CredentialStore(new MemoryBackend(), { hasher: cheapHasher() });
    const bad = (p: Promise<unknown>) => assert.rejects(p, CredentialError);
    await bad(store.createOrUpdate('a:b', { password: 'x', groups: [] }));
    await bad(store.createOrUpdate('../x', { password: 'x', groups: [] }));
    await bad(store.createOrUpdate('hub', { password: 'x', groups: ['admin'] }));
    await bad(store.createOrUpdate('hub', { password: '', groups: [] }));
    await bad(store.setGroups('nobody', ['access_to_webservice']));
    await bad(store.createToken('nobody'));
  });

  void it('two writers at once: both changes survive (optimistic concurrency, retry on conflict)', async () => {
    const backend = new MemoryBackend();
    const a = new CredentialStore(backend, { hasher: cheapHasher() });
    const b = new CredentialStore(backend, { hasher: cheapHasher() });
    const c = new CredentialStore(backend, { hasher: cheapHasher() });
    await Promise.all([
      a.createOrUpdate('one', { password: 'p1', groups: ['access_to_webservice'] }),
      b.createOrUpdate('two', { password: 'p2', groups: ['access_to_webservice'] }),
      c.createOrUpdate('three', { password: 'p3', groups: ['access_to_logging'] }),
      a.createOrUpdate('four', { groups: ['access_to_logging'] }),
    ]);
    assert.deepEqual((await a.list()).map((x) => x.name), ['four', 'one', 'three', 'two']);
  });

  void it('a conflicting writer forces a re-read and a redo', async () => {
    const inner = new MemoryBackend();
    let conflicts = 1;
    const flaky: CredentialBackend = {
      location: 'flaky',
      start: (cb) => inner.start(cb),
      stop: () => inner.stop(),
      waitForSync: () => inner.waitForSync(),
      read: () => inner.read(),
      write: async (doc: CredentialDoc, expected: string | undefined): Promise<StoredDoc | 'conflict'> => {
        if (conflicts-- > 0) {
          // someone else writes in between
          const current = await inner.read();
          const other = structuredClone(current?.doc ?? { version: 1 as const, credentials: {} });
          other.credentials.other = { groups: [], tokens: [], updated: '' };
          await inner.write(other, current?.version);
        }
        return inner.write(doc, expected);
      },
    };
    const store = new CredentialStore(flaky, { hasher: cheapHasher() });
    await store.createOrUpdate('mine', { groups: ['access_to_webservice'] });
    assert.deepEqual((await store.list()).map((x) => x.name), ['mine', 'other']);
  });

  void it('watchers learn which credentials changed', async () => {
    const backend = new MemoryBackend();
    const writer = new CredentialStore(backend, { hasher: cheapHasher() });
    const reader = new CredentialStore(backend, { hasher: cheapHasher() });
    reader.start();
    const seen: string[][] = [];
    reader.onChange((changed) => seen.push(changed));
    await writer.createOrUpdate('x', { groups: ['access_to_webservice'] });
    await writer.createOrUpdate('y', { groups: ['access_to_webservice'] });
    await writer.setGroups('x', ['access_to_logging']);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen, [['x'], ['y'], ['x']]);
    assert.deepEqual(reader.snapshot().doc.credentials.x?.groups, ['access_to_logging']);
  });
});

void describe('parseDoc', () => {
  void it('keeps the readable entries and names the broken ones', () => {
    const { doc, problems } = parseDoc(JSON.stringify({
      version: 1,
      credentials: {
        good: { groups: ['access_to_webservice', 'bogus'], tokens: [], updated: '' },
        bad: { groups: 'nope' },
        'bad:name': { groups: [], tokens: [] },
        plain: { groups: [], password: 'plaintext-password', tokens: [] },
      },
    }));
    assert.deepEqual(Object.keys(doc.credentials), ['good']);
    assert.deepEqual(doc.credentials.good?.groups, ['access_to_webservice']);
    assert.equal(problems.length, 3);
    assert.ok(!problems.join().includes('plaintext-password'));
    assert.equal(parseDoc('{not json').problems.length, 1);
  });
});
