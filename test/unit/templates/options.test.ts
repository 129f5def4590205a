import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TemplateError } from '../../../src/templates/errors.js';
import { parseOptionsYaml, resolveUserOptions, unsafeScalarReason } from '../../../src/templates/options.js';

function code(c: string, re?: RegExp): (e: unknown) => boolean {
  return (e: unknown) => e instanceof TemplateError && e.code === c && (re === undefined || re.test(e.message));
}

void describe('parseOptionsYaml', () => {
  void it('reads declarations with pattern and default', () => {
    const d = parseOptionsYaml('flavor:\n  pattern: "small|large"\n  default: small\nimage_tag: {}\nnum:\n  default: 4\n');
    assert.deepEqual([...d.keys()], ['flavor', 'image_tag', 'num']);
    assert.equal(d.get('flavor')?.default, 'small');
    assert.equal(d.get('num')?.default, '4');
    assert.equal(d.get('image_tag')?.default, undefined);
    // patterns are anchored
    assert.ok(d.get('flavor')?.pattern.test('large'));
    assert.ok(!d.get('flavor')?.pattern.test('xlarge'));
    assert.ok(!d.get('flavor')?.pattern.test('small-x'));
  });
  void it('no file or an empty file declares nothing', () => {
    assert.equal(parseOptionsYaml(undefined).size, 0);
    assert.equal(parseOptionsYaml('').size, 0);
    assert.equal(parseOptionsYaml('# nothing\n').size, 0);
  });
  void it('rejects broken declarations', () => {
    assert.throws(() => parseOptionsYaml('a: [\n'), code('parse', /options\.yaml/));
    assert.throws(() => parseOptionsYaml('- a\n- b\n'), code('bad_object'));
    assert.throws(() => parseOptionsYaml('a: 5\n'), code('bad_object', /mapping/));
    assert.throws(() => parseOptionsYaml('a: {pattern: "("}\n'), code('bad_object', /invalid pattern/));
    assert.throws(() => parseOptionsYaml('a: {patern: "x"}\n'), code('bad_object', /unknown field patern/));
    assert.throws(() => parseOptionsYaml('"a b": {}\n'), code('bad_object', /invalid option name/));
    assert.throws(() => parseOptionsYaml('a: {default: "x: y"}\n'), code('bad_object', /default of a/));
    assert.throws(() => parseOptionsYaml('a: {pattern: "[0-9]+", default: abc}\n'), code('bad_object', /pattern/));
    assert.throws(() => parseOptionsYaml('id: {}\n', ['id', 'namespace']), code('bad_object', /keyword/));
  });
});

void describe('unsafeScalarReason', () => {
  void it('accepts plain values', () => {
    for (const ok of ['abc', '4.1', 'registry.example.org/img:1.2', 'a=b+c', 'user@host', 'x:y', '', 'a-b']) {
      assert.equal(unsafeScalarReason(ok), null, ok);
    }
  });
  void it('rejects anything that could add YAML structure', () => {
    for (const bad of [
      'a\nkind: Secret', 'a\rb', 'a\tb', 'x: y', 'x:', "'", '"', 'a"b', '`x`', 'a\\', '{a}', '[a]', 'a,b',
      '#x', 'a #b', '-x', '- x', '*ref', '&anchor', '!tag', '|', '>', '%x', '@x', '?x', ':x', '~', ' a', 'a ',
      '---', '...', 'a\u2028b', 'x'.repeat(1025),
    ]) {
      assert.notEqual(unsafeScalarReason(bad), null, JSON.stringify(bad));
    }
  });
  void it('rejects values containing a replacement indicator', () => {
    assert.notEqual(unsafeScalarReason('a?!!?b', ['?!!?', '!??!']), null);
    assert.equal(unsafeScalarReason('a?!b', ['?!!?', '!??!']), null);
  });
});

void describe('resolveUserOptions', () => {
  const declared = parseOptionsYaml(
    'flavor: {pattern: "small|large", default: small}\nimage_tag: {}\nfree: {pattern: ".*"}\n',
  );
  void it('takes declared values, defaults for missing ones, and ignores undeclared keys', () => {
    const v = resolveUserOptions(declared, { flavor: 'large', image_tag: '4.1', free: 'x', service: 'a/b', other: 'zzz' });
    assert.deepEqual([...v], [['flavor', 'large'], ['image_tag', '4.1'], ['free', 'x']]);
    const v2 = resolveUserOptions(declared, { image_tag: 7, free: true });
    assert.deepEqual([...v2], [['flavor', 'small'], ['image_tag', '7'], ['free', 'true']]);
    assert.deepEqual([...resolveUserOptions(declared, { image_tag: 'a', free: 'b', flavor: null })][0], ['flavor', 'small']);
  });
  void it('is an error when a required option is missing', () => {
    assert.throws(() => resolveUserOptions(declared, { free: 'x' }), code('bad_value', /image_tag/));
    assert.throws(() => resolveUserOptions(declared, undefined), code('bad_value', /image_tag/));
  });
  void it('rejects non-scalars and pattern mismatches, naming the key', () => {
    assert.throws(() => resolveUserOptions(declared, { image_tag: { a: 1 }, free: 'x' }), code('bad_value', /image_tag/));
    assert.throws(() => resolveUserOptions(declared, { image_tag: ['a'], free: 'x' }), code('bad_value', /image_tag/));
    assert.throws(() => resolveUserOptions(declared, { image_tag: Number.NaN, free: 'x' }), code('bad_value', /image_tag/));
    assert.throws(() => resolveUserOptions(declared, { image_tag: 'a', flavor: 'medium', free: 'x' }), code('bad_value', /flavor.*pattern/));
    assert.throws(() => resolveUserOptions(declared, { image_tag: 'a b', free: 'x' }), code('bad_value', /image_tag/));
  });
  void it('rejects injection attempts even when the declared pattern allows anything', () => {
    for (const attack of ['a\nkind: Secret', 'x: y', "'", '"', '{a}', '[a]', 'a, b', '# c', '&a', '*a', '!!binary x', '|', '>-', '- x']) {
      assert.throws(
        () => resolveUserOptions(declared, { image_tag: 'ok', free: attack }),
        code('bad_value', /User option free is not allowed/),
        JSON.stringify(attack),
      );
    }
  });
});
