import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDomainError } from '../../../src/errors.js';
import { effectiveFlavors, flavorNamed, matchingOverrides, resolveFlavor, runtimeDeadline } from '../../../src/flavors/resolve.js';
import type { CredentialFlavors } from '../../../src/flavors/settings.js';

const hub: CredentialFlavors = {
  default: 'small',
  max_per_user: 3,
  flavors: {
    small: { max: 10, max_per_user: 2, runtime: { hours: 2 }, display_name: 'Small', weight: 1, resources: { requests: { cpu: '500m' }, limits: { cpu: '1', memory: '2Gi' } } },
    large: { max: 5 },
  },
  users: {
    '*': { max_per_user: 4 },
    'admin-*': { max_per_user: 6, flavors: { small: { runtime: 0 } } },
    'admin-alice': { default: 'large' },
    '42': { max_per_user: 9, flavors: { small: { max_per_user: 5, resources: { limits: { memory: '8Gi' } } } } },
  },
};

function invalid(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => isDomainError(err) && err.code === 'invalid_input' && pattern.test(err.messages.join(' ')));
}

test('without overrides: the configured values with their defaults', () => {
  const e = effectiveFlavors(hub);
  assert.equal(e.default, 'small');
  assert.equal(e.maxPerUser, 3);
  assert.equal(e.undefinedMax, 0);
  assert.deepEqual(e.flavors.get('small'), {
    name: 'small', defined: true, displayName: 'Small', description: '', weight: 1, max: 10, maxPerUser: 2,
    runtimeSeconds: 7200, runtime: { hours: 2 }, resources: { requests: { cpu: '500m' }, limits: { cpu: '1', memory: '2Gi' } },
  });
  assert.deepEqual(e.flavors.get('large'), {
    name: 'large', defined: true, displayName: 'large', description: '', weight: 0, max: 5, maxPerUser: -1,
    runtimeSeconds: 0, runtime: undefined, resources: undefined,
  });
});

test('overrides: the more specific wins field by field (pattern < longer pattern < name < id)', () => {
  // Matches "*" only.
  assert.equal(effectiveFlavors(hub, { id: '7', name: 'bob' }).maxPerUser, 4);
  // "*", "admin-*" and the exact name: the name sets the default, admin-* the max and the runtime.
  const alice = effectiveFlavors(hub, { id: '7', name: 'admin-alice' });
  assert.equal(alice.default, 'large');
  assert.equal(alice.maxPerUser, 6);
  assert.equal(alice.flavors.get('small')?.runtimeSeconds, 0);
  // The id is the most specific; resources merge per resource.
  const u42 = effectiveFlavors(hub, { id: '42', name: 'admin-carol' });
  assert.equal(u42.maxPerUser, 9);
  assert.equal(u42.flavors.get('small')?.maxPerUser, 5);
  assert.deepEqual(u42.flavors.get('small')?.resources, { requests: { cpu: '500m' }, limits: { cpu: '1', memory: '8Gi' } });
  // Order of application, least specific first.
  assert.deepEqual(matchingOverrides(hub.users, { id: '42', name: 'admin-alice' }), [hub.users!['*'], hub.users!['admin-*'], hub.users!['admin-alice'], hub.users!['42']]);
  // The configuration itself is not changed.
  assert.equal(hub.flavors!.small!.max_per_user, 2);
});

test('resolve: user_options.flavor, else the default; unknown or malformed answer invalid_input naming it', () => {
  const e = effectiveFlavors(hub);
  assert.equal(resolveFlavor(e, { flavor: 'large' }).name, 'large');
  assert.equal(resolveFlavor(e, {}).name, 'small');
  assert.equal(resolveFlavor(e, { flavor: '' }).name, 'small');
  invalid(() => resolveFlavor(e, { flavor: 'huge' }), /Unknown flavor "huge"\. Available flavors: large, small/);
  invalid(() => resolveFlavor(e, { flavor: 'a: b' }), /user_options\.flavor must be a flavor name/);
  invalid(() => resolveFlavor(e, { flavor: 3 }), /user_options\.flavor must be a flavor name/);
  invalid(() => resolveFlavor(effectiveFlavors({ flavors: { a: {} } }), {}), /Missing key in input data: user_options\.flavor/);
});

test('undefined flavors: admitted under undefined_max when it is not 0', () => {
  const open = effectiveFlavors({ undefined_max: 2, flavors: { a: {} } });
  assert.deepEqual(resolveFlavor(open, { flavor: 'other' }), {
    name: 'other', defined: false, displayName: 'other', description: '', weight: 0, max: 2, maxPerUser: -1, runtimeSeconds: 0, runtime: undefined, resources: undefined,
  });
  assert.equal(flavorNamed(effectiveFlavors({ flavors: { a: {} } }), 'other'), undefined);
  assert.equal(flavorNamed(open, 'bad name'), undefined);
});

test('runtime deadline and reason', () => {
  const now = new Date('2030-01-01T10:00:00.000Z');
  assert.deepEqual(runtimeDeadline({ runtimeSeconds: 7200 }, now), { stopAt: '2030-01-01T12:00:00.000Z', reason: 'Runtime limit of 2 hours reached' });
  assert.equal(runtimeDeadline({ runtimeSeconds: 0 }, now), undefined);
});
