// Rules on the user's identity (the `authentication` an OutpostSpawner sends),
// the credential's offer, and how a JupyterHub Outpost words and shows flavors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDomainError, type DomainError } from '../../../src/errors.js';
import { effectiveFlavors, resolveFlavor } from '../../../src/flavors/resolve.js';
import { outpostMatch, ruleHolds, selectRule } from '../../../src/flavors/rules.js';
import { decide, type FlavorRefusal } from '../../../src/flavors/capacity.js';
import { outpostFlavor } from '../../../src/flavors/admission.js';
import { flavorProblems, type CredentialFlavors } from '../../../src/flavors/settings.js';
import { outpostFlavorWords } from '../../../src/outpost/wording.js';

const hub: CredentialFlavors = {
  flavors: {
    small: { max: 2, max_per_user: 1, weight: 10, display_name: 'Small', description: 'small, 1 hour', runtime: { hours: 1 } },
    big: { max: 1, weight: 5, display_name: 'Big', description: 'big, 10 minutes', runtime: { minutes: 10 } },
    gpu: { max: 4, runtime: 3600 },
  },
  offer: { flavors: ['small', 'big'], overrides: { small: { max: 18 } } },
  rules: [
    { name: 'external', match: { name: '*@example.org' }, weight: 10, flavors: ['small'], overrides: { small: { max_per_user: 1, max: 1 } } },
    { name: 'gpu-group', match: { groups: ['gpu-users'] }, weight: 20, flavors: ['small', 'gpu'] },
    { name: 'blocked', match: { groups: { outpost: 'blocked.*' } }, weight: 99, forbidden: true },
    { name: 'not-staff', match: { name: '/.*@staff\\.org/' }, negate: true, weight: 1 },
  ],
};
const names = (c: CredentialFlavors, authentication?: Record<string, unknown>) => [...effectiveFlavors(c, authentication ? { id: '7', authentication } : undefined).flavors.keys()].sort();

test('an Outpost\'s value test: regular expression over the whole value, else fnmatch, else equality', () => {
  assert.equal(outpostMatch('.*@example.org', 'alice@example.org'), true);
  assert.equal(outpostMatch('.*@example.org', 'alice@example.org.evil'), false, 'fullmatch, not search');
  assert.equal(outpostMatch('*.org', 'x.org'), true, 'not a regular expression: fnmatch');
  // A valid regular expression is tried as one first (as Python's re.fullmatch does): [!0-9] is "!" or a digit there.
  assert.equal(outpostMatch('user[!0-9]', 'user1'), true);
  assert.equal(outpostMatch('*[!0-9]', 'userA'), true, 'fnmatch: [!...] is a negated set');
  assert.equal(outpostMatch('*[!0-9]', 'user1'), false);
  assert.equal(outpostMatch('a(b', 'a(b'), true, 'neither: equality');
});

test('rules: one key (of any) matches, lists of values, negation, the heaviest that holds wins, ties to the later', () => {
  const [external, gpu, blocked, notStaff] = hub.rules ?? [];
  assert.equal(ruleHolds(external!, { name: 'bob@example.org' }), true);
  assert.equal(ruleHolds(gpu!, { name: 'x', groups: ['a', 'gpu-users'] }), true);
  assert.equal(ruleHolds(blocked!, { groups: ['blocked-2024'] }), true);
  assert.equal(ruleHolds(notStaff!, { name: 'eve@staff.org' }), false);
  assert.equal(ruleHolds(notStaff!, { name: 'eve@else.org' }), true);
  assert.equal(ruleHolds({ match: { name: 'a', groups: ['g'] }, require: 'all' }, { name: 'a', groups: ['h'] }), false);
  assert.equal(ruleHolds({ match: { name: 'a', groups: ['g'] } }, { name: 'a', groups: ['h'] }), true);
  assert.equal(selectRule(hub.rules, { name: 'bob@example.org', groups: ['gpu-users'] })?.rule.name, 'gpu-group');
  assert.equal(selectRule([{ match: { name: 'a' }, name: 'first' }, { match: { name: 'a' }, name: 'second' }], { name: 'a' })?.rule.name, 'second');
  assert.equal(selectRule(hub.rules, {}), undefined, 'no identity, no rule');
  assert.equal(selectRule(hub.rules, undefined), undefined);
});

test('the offer narrows and changes the flavors for everybody; a rule chooses from all, with the offer\'s changes (ours) or without (an Outpost\'s)', () => {
  assert.deepEqual(names(hub), ['big', 'small']);
  assert.equal(effectiveFlavors(hub).flavors.get('small')?.max, 18, 'the offer\'s override');
  // Ours: a rule may give a flavor the offer leaves out (gpu), and the offer's changes hold (small's 18).
  assert.deepEqual(names(hub, { groups: ['gpu-users'] }), ['gpu', 'small']);
  assert.equal(effectiveFlavors(hub, { id: '7', authentication: { groups: ['gpu-users'] } }).flavors.get('small')?.max, 18);
  assert.deepEqual(names(hub, { name: 'bob@example.org' }), ['small']);
  assert.equal(effectiveFlavors(hub, { id: '7', authentication: { name: 'bob@example.org' } }).flavors.get('small')?.max, 1, 'the rule\'s own change wins');
  assert.deepEqual(names(hub, { groups: ['blocked-x'] }), [], 'forbidden');
  // An Outpost's: a matched user starts from every flavor as defined, without the offer's changes.
  const outpostLike = { ...hub, rules_start_from: 'all' as const };
  assert.deepEqual(names(outpostLike, { groups: ['gpu-users'] }), ['gpu', 'small']);
  assert.equal(effectiveFlavors(outpostLike, { id: '7', authentication: { name: 'nobody@else' } }).flavors.get('small')?.max, 2, 'the global max, not the offer\'s 18');
  assert.equal(effectiveFlavors(hub, { id: '7', authentication: { name: 'nobody@else' } }).flavors.get('small')?.max, 18);
  assert.equal(effectiveFlavors(hub, { id: '7', authentication: { name: 'x' } }).rule, 'not-staff');
});

function refusalOf(fn: () => unknown): { err: DomainError; refusal: FlavorRefusal } {
  try {
    fn();
  } catch (err) {
    if (isDomainError(err)) return { err, refusal: err.facts.flavorRefusal as FlavorRefusal };
    throw err;
  }
  assert.fail('expected a refusal');
}

test('refusals carry their facts, worded as a JupyterHub Outpost words them', () => {
  const forbidden = refusalOf(() => resolveFlavor(effectiveFlavors(hub, { id: '7', authentication: { groups: ['blocked'] } }), { flavor: 'small' }, new Set(['small', 'big', 'gpu'])));
  assert.equal(forbidden.err.code, 'invalid_input');
  assert.match(forbidden.err.userMessage, /Flavor "small" is not available to you/);
  assert.equal(outpostFlavorWords(forbidden.refusal), "Start with flavor small not allowed. Allowed values for user: []");
  const unknown = refusalOf(() => resolveFlavor(effectiveFlavors(hub), { flavor: 'nope' }));
  assert.equal(outpostFlavorWords(unknown.refusal), "Start with flavor nope not allowed. Allowed values for user: ['big', 'small']");
  const none = refusalOf(() => resolveFlavor(effectiveFlavors(hub), {}));
  assert.equal(outpostFlavorWords(none.refusal), "Start with flavor None not allowed. Allowed values for user: ['big', 'small']");

  const book = new Map([['a-1.s1', { flavor: 'small', user_id: '7', at: '2026-01-01T00:00:00Z' }], ['b-1.s1', { flavor: 'small', user_id: '8', at: '2026-01-01T00:00:00Z' }]]);
  const words = (max: number, maxPerUser: number, userMax: number) => {
    const d = decide(book, { credential: 'hub1', servername: 'c-1', userId: '7', flavor: { name: 'small', max, maxPerUser }, userMax });
    return d.ok ? 'ok' : outpostFlavorWords(d.refusal);
  };
  assert.equal(words(2, -1, -1), 'Start with small for hub1 not allowed. Maximum (2) already reached.');
  assert.equal(words(5, 1, -1), 'Start with flavor small not allowed. Each user may only start 1 of small');
  assert.equal(words(5, -1, 1), 'User with user id 7 of hub1 has reached the maximum limit of services (1)');
  assert.equal(words(5, -1, -1), 'ok');
});

test('a flavor in a JupyterHub Outpost\'s shape', () => {
  const e = effectiveFlavors(hub);
  assert.deepEqual(outpostFlavor(e.flavors.get('small')!, 1), { max: 18, maxPerUser: 1, weight: 10, display_name: 'Small', description: 'small, 1 hour', runtime: { hours: 1 }, current: 1 });
  assert.deepEqual(outpostFlavor(e.flavors.get('big')!, 0), { max: 1, weight: 5, display_name: 'Big', description: 'big, 10 minutes', runtime: { minutes: 10 }, current: 0 });
  const all = effectiveFlavors({ flavors: hub.flavors });
  assert.deepEqual(outpostFlavor(all.flavors.get('gpu')!, 0), { max: 4, weight: 0, display_name: 'gpu', description: '', runtime: { seconds: 3600 }, current: 0 });
});

test('config checks: the offer and rules name defined flavors; rule patterns compile', () => {
  assert.deepEqual(flavorProblems({ hub1: hub }), []);
  assert.deepEqual(flavorProblems({ hub1: { flavors: { a: {} }, offer: { flavors: ['b'] }, rules: [{ match: { name: '/(/' }, flavors: ['c'] }, { match: {} }] } }), [
    'flavors.hub1.offer.flavors.b: not one of the flavors',
    'flavors.hub1.rules[0].match.name: not a valid regular expression: Invalid regular expression: /(/: Unterminated group',
    'flavors.hub1.rules[0].flavors.c: not one of the flavors',
    'flavors.hub1.rules[1].match: no key to match',
  ]);
});
