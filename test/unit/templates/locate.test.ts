import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { TemplateError } from '../../../src/templates/errors.js';
import { credentialDir, isInside, parseServicePath, resolveServiceDir } from '../../../src/templates/locate.js';

const ROOT = '/srv/descriptions';

function badService(fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => e instanceof TemplateError && e.code === 'bad_service');
}

void describe('parseServicePath', () => {
  void it('splits "<type>/<option>"', () => {
    assert.deepEqual(parseServicePath('JupyterLab/4.0.1'), { type: 'JupyterLab', option: '4.0.1' });
    assert.deepEqual(parseServicePath('jupyter_lab/opt-a'), { type: 'jupyter_lab', option: 'opt-a' });
  });
  void it('rejects everything that is not exactly two safe segments', () => {
    for (const bad of [
      '', 'jupyterlab', 'a/b/c', '../etc', 'a/..', '../..', './a', 'a/.', '/a/b', 'a/b/', '/etc/passwd',
      '%2e%2e/x', 'a/%2e%2e', 'a\\..\\b', 'a\\b', '..\\x/y', 'a/.hidden', 'a/-x', 'a/b c', 'a//b', 'a/b\0',
      `a/${'x'.repeat(200)}`, 5, null, undefined, ['a', 'b'], { type: 'a' },
    ]) {
      badService(() => parseServicePath(bad));
    }
  });
});

void describe('resolveServiceDir', () => {
  void it('builds <root>/<cred>/<type>/<option>', () => {
    assert.equal(resolveServiceDir(ROOT, 'jupyterjsc', 'jupyterlab/default'), '/srv/descriptions/jupyterjsc/jupyterlab/default');
    assert.equal(resolveServiceDir('relative/root', 'c', 't/o'), path.resolve('relative/root/c/t/o'));
  });
  void it('rejects unsafe service paths', () => {
    for (const bad of ['../x', '../../etc/passwd', 'a/b/c', '', '/abs/x', '%2e%2e/%2e%2e', 'a\\b/c', '..%2f..']) {
      badService(() => resolveServiceDir(ROOT, 'jupyterjsc', bad));
    }
  });
  void it('rejects unsafe credential folder names', () => {
    for (const bad of ['..', '.', '', 'a/b', '../x', '/abs', 'a\\b']) {
      badService(() => resolveServiceDir(ROOT, bad, 'jupyterlab/default'));
    }
  });
  void it('names the problem in the message', () => {
    assert.throws(() => resolveServiceDir(ROOT, 'c', 'a/b/c'), /"<type>\/<option>"/);
  });
});

void describe('credentialDir / isInside', () => {
  void it('maps credentials to folder names', () => {
    assert.equal(credentialDir('jhub1', { jhub1: 'jupyterjsc' }), 'jupyterjsc');
    assert.equal(credentialDir('jhub2', { jhub1: 'jupyterjsc' }), 'jhub2');
    assert.equal(credentialDir('jhub2'), 'jhub2');
    assert.equal(credentialDir('jhub1', { jhub1: '' }), 'jhub1');
  });
  void it('tells whether a path is inside a root', () => {
    assert.ok(isInside('/a/b', '/a/b'));
    assert.ok(isInside('/a/b', '/a/b/c/d'));
    assert.ok(!isInside('/a/b', '/a/bc'));
    assert.ok(!isInside('/a/b', '/a'));
    assert.ok(!isInside('/a/b', '/a/b/../c'));
  });
});
