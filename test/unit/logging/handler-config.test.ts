import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HANDLER_DEFAULTS, merge, validate, withDefaults } from '../../../src/logging/handler-config.js';

test('the configuration is merged over the per-type defaults', () => {
  assert.deepEqual(withDefaults('stream', {}), { ok: true, config: { formatter: 'simple', level: 10, stream: 'ext://sys.stdout' } });
  assert.deepEqual(withDefaults('file', { level: 20 }), {
    ok: true,
    config: { formatter: 'simple', level: 20, filename: '/tmp/file.log', when: 'midnight', interval: 1, backupCount: 7 },
  });
  assert.deepEqual(withDefaults('syslog', undefined), { ok: true, config: { ...HANDLER_DEFAULTS.syslog } });
});

test('level and formatter errors list the supported values', () => {
  assert.deepEqual(withDefaults('stream', { level: 3 }), { ok: false, errors: ['Unsupported level: 3. Supported levels: 5, 10, 20, 30, 40, 50, 99'] });
  assert.deepEqual(withDefaults('stream', { level: '10' }), { ok: false, errors: ['level in configuration must be of type int'] });
  assert.deepEqual(withDefaults('stream', { formatter: 'xml' }), { ok: false, errors: ['Unsupported formatter: xml. Supported formatters: simple, json'] });
  assert.equal(withDefaults('stream', { level: 99 }).ok, true);
});

test('type errors name the field', () => {
  assert.deepEqual(withDefaults('file', { filename: 5 }), { ok: false, errors: ['filename in configuration must be of type str'] });
  assert.deepEqual(withDefaults('file', { backupCount: 'x' }), { ok: false, errors: ['backupCount in configuration must be of type int'] });
  assert.deepEqual(withDefaults('file', { when: 'fortnight' }), { ok: false, errors: ['Unsupported when: fortnight. Supported values: S, M, H, D, midnight, W0-W6'] });
  assert.deepEqual(withDefaults('smtp', { toaddrs: 'a@b' }), { ok: false, errors: ['toaddrs in configuration must be of type list of str'] });
  assert.deepEqual(withDefaults('smtp', {}), { ok: false, errors: ['toaddrs in configuration must not be empty'] });
  assert.deepEqual(withDefaults('syslog', { address: ['h', 'p'] }), {
    ok: false,
    errors: ['address in configuration must be of type str (a Unix socket path) or [str, int]'],
  });
  assert.match(String((withDefaults('syslog', { socktype: 'udp' }) as { errors: string[] }).errors[0]), /^Unsupported socktype: udp/);
  assert.match(String((withDefaults('stream', { colour: true }) as { errors: string[] }).errors[0]), /^Unsupported key in configuration: colour/);
  assert.deepEqual(withDefaults('stream', 'nope'), { ok: false, errors: ['configuration must be of type dict'] });
});

test('several problems are all reported', () => {
  const result = withDefaults('file', { level: 3, filename: [] });
  assert.equal(result.ok, false);
  assert.equal((result as { errors: string[] }).errors.length, 2);
});

test('when is case-insensitive, midnight is kept lower-case, W0-W6 accepted', () => {
  assert.deepEqual(validate('file', { ...HANDLER_DEFAULTS.file, when: 'MIDNIGHT' }), { ok: true, config: { ...HANDLER_DEFAULTS.file } });
  assert.equal(validate('file', { ...HANDLER_DEFAULTS.file, when: 'w6' }).ok, true);
  assert.equal(validate('file', { ...HANDLER_DEFAULTS.file, when: 'W7' }).ok, false);
});

test('smtp mailhost is a host or [host, port]; merge replaces lists whole', () => {
  const base = { ...HANDLER_DEFAULTS.smtp, toaddrs: ['ops@example.org'] };
  assert.equal(validate('smtp', { ...base, mailhost: 'mail' }).ok, true);
  assert.equal(validate('smtp', { ...base, mailhost: ['mail', 2525] }).ok, true);
  assert.equal(validate('smtp', { ...base, mailhost: ['mail', 0] }).ok, false);
  assert.deepEqual(merge(base, { toaddrs: ['x@example.org'] })?.toaddrs, ['x@example.org']);
  assert.equal(merge(base, [1]), undefined);
});
