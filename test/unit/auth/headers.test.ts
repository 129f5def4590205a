import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { basicHeader, formatToken, newTokenId, parseAuthHeader, tokenId } from '../../../src/auth/headers.js';

void describe('parseAuthHeader', () => {
  void it('reads Basic from Authorization and from the seed\'s Authentication', () => {
    const expected = { kind: 'basic', user: 'hub', password: 'p:a:ss wörd' };
    assert.deepEqual(parseAuthHeader({ authorization: basicHeader('hub', 'p:a:ss wörd') }), expected);
    assert.deepEqual(parseAuthHeader({ authentication: basicHeader('hub', 'p:a:ss wörd') }), expected);
    assert.deepEqual(parseAuthHeader({ authorization: `basic ${Buffer.from('hub:x').toString('base64')}` }), { kind: 'basic', user: 'hub', password: 'x' });
  });
  void it('prefers Authorization when both are present', () => {
    assert.deepEqual(parseAuthHeader({ authorization: 'token abc', authentication: basicHeader('a', 'b') }), { kind: 'token', token: 'abc' });
  });
  void it('reads token and Bearer, any case', () => {
    for (const scheme of ['token', 'Token', 'Bearer', 'bearer']) {
      assert.deepEqual(parseAuthHeader({ authorization: `${scheme} k8smgr_x` }), { kind: 'token', token: 'k8smgr_x' });
    }
  });
  void it('tells missing from malformed', () => {
    assert.deepEqual(parseAuthHeader({}), { kind: 'missing' });
    assert.deepEqual(parseAuthHeader({ authorization: '  ' }), { kind: 'missing' });
    for (const bad of ['Basic', 'Basic !!!', 'Basic a b', `Basic ${Buffer.from('nocolon').toString('base64')}`, `Basic ${Buffer.from(':pw').toString('base64')}`, 'Digest abc', 'abc', 'x'.repeat(9000)]) {
      assert.deepEqual(parseAuthHeader({ authorization: bad }), { kind: 'malformed' }, bad.slice(0, 30));
    }
    assert.deepEqual(parseAuthHeader({ authentication: ['token a', 'token b'] }), { kind: 'malformed' });
  });
});

void describe('tokens', () => {
  void it('carry a public id that finds their hash', () => {
    const id = newTokenId();
    const token = formatToken(id);
    assert.match(token, /^k8smgr_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    assert.equal(tokenId(token), id);
    assert.notEqual(formatToken(id), token);
  });
  void it('anything else has no id', () => {
    for (const t of ['', 'abc', 'k8smgr_', 'k8smgr_zz_abc', `k8smgr_${'a'.repeat(16)}_short`, `x${formatToken(newTokenId())}`]) {
      assert.equal(tokenId(t), undefined, t);
    }
  });
});
