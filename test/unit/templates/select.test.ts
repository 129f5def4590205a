import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileIgnore, globToRegExp, selectFileMap, selectFiles, selectName } from '../../../src/templates/select.js';

const OPTS = {
  stage: 'production',
  credential: 'jupyterjsc',
  skipStage: ['production_', 'staging_'],
  skipCredential: ['jupyterjsc_', 'other_'],
};

void describe('globToRegExp', () => {
  void it('supports *, ? and **', () => {
    assert.ok(globToRegExp('*.md').test('README.md'));
    assert.ok(!globToRegExp('*.md').test('docs/README.md'));
    assert.ok(globToRegExp('docs/*.md').test('docs/README.md'));
    assert.ok(globToRegExp('**/*.md').test('README.md'));
    assert.ok(globToRegExp('**/*.md').test('a/b/README.md'));
    assert.ok(globToRegExp('input/**').test('input/a/b.txt'));
    assert.ok(globToRegExp('file?.txt').test('file1.txt'));
    assert.ok(!globToRegExp('file?.txt').test('file12.txt'));
    assert.ok(!globToRegExp('file?.txt').test('file/.txt'));
  });
  void it('treats regex characters literally', () => {
    assert.ok(globToRegExp('a+b(1).[x]').test('a+b(1).[x]'));
    assert.ok(!globToRegExp('a.b').test('axb'));
    assert.ok(!globToRegExp('$x^').test('x'));
  });
  void it('compileIgnore: globs without / match any segment, with / the whole path', () => {
    const ignored = compileIgnore(['*.swp', '.git', 'input/tmp/*']);
    assert.ok(ignored('a/b/.x.swp'));
    assert.ok(ignored('.git/config'));
    assert.ok(ignored('input/tmp/x'));
    assert.ok(!ignored('tmp/x'));
    assert.ok(!ignored('service.yaml'));
  });
});

void describe('selectName', () => {
  void it('strips the current stage and credential prefixes', () => {
    assert.deepEqual(selectName('production_jupyterjsc_x', OPTS), { name: 'x', score: 3 });
    assert.deepEqual(selectName('production_x', OPTS), { name: 'x', score: 2 });
    assert.deepEqual(selectName('jupyterjsc_x', OPTS), { name: 'x', score: 1 });
    assert.deepEqual(selectName('x', OPTS), { name: 'x', score: 0 });
  });
  void it('leaves out other stages and credentials', () => {
    assert.equal(selectName('staging_x', OPTS), null);
    assert.equal(selectName('other_x', OPTS), null);
    assert.equal(selectName('production_other_x', OPTS), null);
    assert.equal(selectName('staging_jupyterjsc_x', OPTS), null);
    assert.equal(selectName('production_', OPTS), null);
  });
  void it('renames the current stage even when not in skip.stage; no stage → no stage renaming', () => {
    assert.deepEqual(selectName('production_x', { ...OPTS, skipStage: [] }), { name: 'x', score: 2 });
    assert.equal(selectName('production_x', { ...OPTS, stage: undefined }), null);
    assert.deepEqual(selectName('production_x', { credential: 'c' }), { name: 'production_x', score: 0 });
  });
});

void describe('selectFiles', () => {
  void it('applies skip, renaming (most specific wins) and ignore globs, also inside input/', () => {
    const paths = [
      'service.yaml',
      'production_service.yaml',
      'staging_service.yaml',
      'jupyterjsc_service.yaml',
      'other_service.yaml',
      'README.md',
      'input/config.txt',
      'input/jupyterjsc_config.txt',
      'input/production_config.txt',
      'input/production_jupyterjsc_config.txt',
      'input/staging_config.txt',
      'input/other_secret.txt',
      'input/plain.txt',
      'input/staging_dir/x.txt',
      'input/production_dir/y.txt',
      'input/sub/.z.swp',
    ];
    const sel = selectFiles(paths, { ...OPTS, ignore: ['*.md', '*.swp'] });
    assert.deepEqual([...sel.entries()], [
      ['input/config.txt', 'input/production_jupyterjsc_config.txt'],
      ['input/dir/y.txt', 'input/production_dir/y.txt'],
      ['input/plain.txt', 'input/plain.txt'],
      ['service.yaml', 'production_service.yaml'],
    ]);
  });

  void it('prefers stage over credential over plain', () => {
    const sel = selectFiles(['x', 'jupyterjsc_x', 'production_x'], OPTS);
    assert.deepEqual([...sel], [['x', 'production_x']]);
    assert.deepEqual([...selectFiles(['x', 'jupyterjsc_x'], OPTS)], [['x', 'jupyterjsc_x']]);
    assert.deepEqual([...selectFiles(['jupyterjsc_x', 'x'], OPTS)], [['x', 'jupyterjsc_x']]);
    assert.deepEqual([...selectFiles(['x'], OPTS)], [['x', 'x']]);
  });

  void it('works for another stage/credential with the same folder', () => {
    const sel = selectFiles(['service.yaml', 'production_service.yaml', 'staging_other_service.yaml'], {
      ...OPTS,
      stage: 'staging',
      credential: 'other',
    });
    assert.deepEqual([...sel], [['service.yaml', 'staging_other_service.yaml']]);
  });

  void it('ignores by renamed name too, and leaves out unsafe paths', () => {
    const sel = selectFiles(['production_secret.txt', '../x', '/abs', 'a//b', 'a\\b', 'ok'], { ...OPTS, ignore: ['secret.txt'] });
    assert.deepEqual([...sel], [['ok', 'ok']]);
  });

  void it('selectFileMap maps contents', () => {
    const files = new Map([
      ['service.yaml', 'plain'],
      ['production_service.yaml', 'prod'],
    ]);
    assert.deepEqual([...selectFileMap(files, OPTS)], [['service.yaml', 'prod']]);
  });
});
