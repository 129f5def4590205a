import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, ConfigError } from '../../../src/config/parse.js';
import { flavorProblems, formatDuration, matchesPattern, patternKind, runtimeSeconds } from '../../../src/flavors/settings.js';

const example = {
  flavors: {
    hub: {
      default: 'small',
      max_per_user: 3,
      undefined_max: 0,
      flavors: {
        small: { max: 10, max_per_user: 2, runtime: { hours: 2 }, display_name: '1 CPU, 2 GB', description: 'For notebooks', weight: 10, resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: 1, memory: '2Gi' } } },
        gpu: { max: 0, runtime: 3600, resources: { limits: { 'nvidia.com/gpu': 1 } } },
      },
      users: { '42': { max_per_user: 5, flavors: { gpu: { max_per_user: 1 } } }, 'admin-*': { default: 'gpu' } },
    },
  },
};

test('the documented example is a valid config; no flavors is the default', () => {
  const { config } = parseConfig(JSON.stringify(example));
  assert.equal(config.flavors.hub?.flavors?.small?.max, 10);
  assert.deepEqual(flavorProblems(config.flavors), []);
  assert.deepEqual(parseConfig('{}').config.flavors, {});
});

test('wrong values and unknown keys inside flavors are refused with the key named', () => {
  const bad = (flavors: unknown) => () => parseConfig(JSON.stringify({ flavors }));
  const names = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.problems.join('\n');
    }
    assert.fail('accepted');
  };
  assert.match(names(bad({ hub: { flavors: { small: { max: -2 } } } })), /flavors\.hub\.flavors\.small\.max/);
  assert.match(names(bad({ hub: { flavors: { small: { maxx: 1 } } } })), /flavors\.hub\.flavors\.small/);
  assert.match(names(bad({ hub: { flavors: { 'bad name': {} } } })), /flavors\.hub\.flavors/);
  assert.match(names(bad({ hub: { flavors: { small: { runtime: { hours: 1, weeks: 1 } } } } })), /flavors\.hub\.flavors\.small\.runtime/);
  assert.match(names(bad({ hub: { flavors: { small: { resources: { limits: { cpu: '1; rm' } } } } } })), /resources/);
  assert.match(names(bad({ hub: { users: { x: { max: 3 } } } })), /flavors\.hub\.users\.x/);
});

test('references between keys are checked: default, user defaults and user flavor overrides', () => {
  assert.deepEqual(flavorProblems({ hub: { default: 'nope', flavors: { a: {} } } }), ['flavors.hub.default: "nope" is not one of the flavors (a)']);
  // With undefined flavors admitted, a default need not be defined.
  assert.deepEqual(flavorProblems({ hub: { default: 'nope', undefined_max: 2, flavors: {} } }), []);
  const problems = flavorProblems({ hub: { flavors: { a: {} }, users: { u: { default: 'b', flavors: { c: {} } }, '/[/': {} } } });
  assert.deepEqual(problems.slice(0, 2), [
    'flavors.hub.users.u.default: "b" is not one of the flavors',
    'flavors.hub.users.u.flavors.c: not one of the flavors',
  ]);
  assert.match(problems[2] ?? '', /^flavors\.hub\.users\.\/\[\/: not a valid regular expression/);
  assert.equal(problems.length, 3);
});

test('runtime: seconds or parts; reason text in words', () => {
  assert.equal(runtimeSeconds(undefined), 0);
  assert.equal(runtimeSeconds(90), 90);
  assert.equal(runtimeSeconds({ hours: 2 }), 7200);
  assert.equal(runtimeSeconds({ days: 1, hours: 1, minutes: 1, seconds: 1 }), 90_061);
  assert.equal(runtimeSeconds({ hours: 1.5 }), 5400);
  assert.equal(formatDuration(7200), '2 hours');
  assert.equal(formatDuration(5400), '1 hour 30 minutes');
  assert.equal(formatDuration(1), '1 second');
  assert.equal(formatDuration(90_061), '1 day 1 hour 1 minute 1 second');
});

test('user patterns: exact, glob, /regex/ (whole value)', () => {
  assert.equal(patternKind('42'), 'exact');
  assert.equal(patternKind('admin-*'), 'glob');
  assert.equal(patternKind('/^a.+$/'), 'regex');
  assert.ok(matchesPattern('42', '42'));
  assert.ok(!matchesPattern('42', '420'));
  assert.ok(matchesPattern('admin-*', 'admin-alice'));
  assert.ok(!matchesPattern('admin-*', 'xadmin-alice'));
  assert.ok(matchesPattern('user?', 'user1'));
  assert.ok(!matchesPattern('a.b*', 'axb'));
  assert.ok(matchesPattern('/[0-9]+/', '123'));
  assert.ok(!matchesPattern('/[0-9]+/', '12a'));
});
