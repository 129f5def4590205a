// `k8smgr flavors import`: an Outpost's flavors file (every key of its format)
// as config.json's flavors section, behaving as on the Outpost by default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { importOutpostFlavors, ImportError } from '../../../src/flavors/import.js';
import { effectiveFlavors } from '../../../src/flavors/resolve.js';
import { flavorProblems, type CredentialFlavors } from '../../../src/flavors/settings.js';
import { parseConfig } from '../../../src/config/parse.js';
import { runFlavorsCli } from '../../../src/cli/flavors.js';

const file = readFileSync('test/fixtures/outpost/flavors.yaml', 'utf8');
const view = (c: CredentialFlavors, authentication?: Record<string, unknown>) =>
  Object.fromEntries([...effectiveFlavors(c, authentication ? { id: '1', authentication } : undefined).flavors.values()].map((f) => [f.name, f.max]));

test('every key: flavors, hubs (first match wins), users (rules from every flavor), as on the Outpost', () => {
  const { flavors, notes } = importOutpostFlavors(file, { credentials: ['hub1', 'hub2', 'other'], globalMaxPerUser: 3 });
  const hub1 = flavors.hub1!;
  assert.deepEqual(hub1.flavors?.small, { max: 2, max_per_user: 1, weight: 10, display_name: 'Small', description: 'small, 1 hour', runtime: { hours: 1 }, resources: { requests: { cpu: '500m' }, limits: { cpu: '1', memory: '2Gi' } } });
  assert.deepEqual(hub1.flavors?.long?.runtime, { days: 7 });
  assert.equal(hub1.max_per_user, 3);
  assert.equal(hub1.rules_start_from, 'all');
  // hub1 matches setA and setB: the first in file order applies, whatever its weight (as on the Outpost).
  assert.deepEqual(hub1.offer, { flavors: ['small'], overrides: { small: { max: 18 } } });
  assert.deepEqual(view(hub1), { small: 18 });
  // A matched user starts from every flavor with the global values (max 2, not the hub's 18).
  assert.deepEqual(view(hub1, { name: 'alice@example.org' }), { small: 1, big: 1 });
  assert.deepEqual(view(hub1, { groups: ['admins'] }), { small: 2, big: 1, long: -1 }, 'a set without a flavors list: all flavors');
  assert.deepEqual(view(hub1, { name: 'bob@nowhere.net' }), { small: 18 }, 'no rule holds: the hub\'s offer');
  // hub2 matches only setB (the regex); its users sets include the negated, forbidden one.
  assert.deepEqual(view(flavors.hub2!), { small: 2, big: 1 });
  assert.deepEqual(view(flavors.hub2!, { name: 'mallory@evil.com' }), {});
  assert.deepEqual(view(flavors.hub2!, { name: 'carol@partner.org' }), { small: 2, big: 1 }, 'not an outsider, and no other set holds: the hub\'s offer');
  // A hub no set names: every flavor; users sets limited to other hubs do not apply.
  assert.equal(flavors.other?.offer, undefined);
  assert.deepEqual(flavors.other?.rules?.map((r) => r.name), ['gpu']);
  assert.ok(notes.some((n) => /weeks/.test(n)) && notes.some((n) => /hub1: hubs sets setA, setB match; "setA" applies/.test(n)), notes.join('\n'));
  // It is a valid config: the schema and the references hold.
  const config = parseConfig(JSON.stringify({ flavors })).config;
  assert.deepEqual(flavorProblems(config.flavors), []);
});

test('--semantics k8smgr: the heaviest hubs set, and the hub\'s changes hold for matched users too', () => {
  const { flavors } = importOutpostFlavors(file, { credentials: ['hub1'], semantics: 'k8smgr' });
  assert.deepEqual(flavors.hub1?.offer, { flavors: ['small', 'big'] });
  assert.equal(flavors.hub1?.rules_start_from, 'offer');
  // With setA (the first) chosen by weight instead, its max of 18 holds for matched users as well.
  const reordered = file.replace('weight: 99', 'weight: 0').replace('    weight: 1\n    flavors: ["small"]', '    weight: 5\n    flavors: ["small"]');
  const hub1 = importOutpostFlavors(reordered, { credentials: ['hub1'], semantics: 'k8smgr' }).flavors.hub1!;
  assert.deepEqual(hub1.offer, { flavors: ['small'], overrides: { small: { max: 18 } } });
  assert.deepEqual(view(hub1, { groups: ['admins'] }), { small: 18, big: 1, long: -1 });
  assert.deepEqual(view(hub1, { name: 'alice@example.org' }), { small: 1, big: 1 }, 'the rule\'s own change wins');
});

test('what cannot be expressed is refused, each problem named', () => {
  const bad = `
flavors:
  "bad name!": {max: 1}
  x: {max: 1, profile_list: [], runtime: {fortnights: 1}, resources: {node_selector: {a: b}}}
hubs:
  h: {jupyterhub_name: 5, flavors: [nope]}
users:
  u: {authentication: {groups: {a: 1}}, colour: red}
credits: {}
`;
  assert.throws(() => importOutpostFlavors(bad, { credentials: [] }), (err: unknown) => {
    assert.ok(err instanceof ImportError);
    const text = err.problems.join('\n');
    for (const expected of [
      'credits: not a key of an Outpost\'s flavors file',
      'name the hub credentials',
      'flavors.bad name!: a flavor name is',
      'flavors.x.profile_list: not a key a flavor has here',
      'flavors.x.runtime.fortnights: not a timedelta keyword',
      'flavors.x.resources: only {requests, limits} of the main container',
      'hubs.h.jupyterhub_name: a pattern or a list of hub names',
      'hubs.h.flavors: "nope" is not one of the flavors',
      'users.u.colour: not a key of a users set',
      'users.u.authentication.groups: a pattern (string) or a list of values',
    ]) assert.ok(text.includes(expected), `missing "${expected}" in:\n${text}`);
    return true;
  });
});

test('the CLI prints the section, notes on stderr; a refusal exits 1 with the reasons', async () => {
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (s: string) => out.push(s), err: (s: string) => err.push(s) };
  assert.equal(await runFlavorsCli(['import', 'test/fixtures/outpost/flavors.yaml', '--credential', 'hub1'], io), 0);
  const printed = JSON.parse(out.join('\n')) as { flavors: Record<string, CredentialFlavors> };
  assert.deepEqual(Object.keys(printed.flavors), ['hub1']);
  assert.ok(err.some((l) => l.startsWith('note: ')));
  out.length = 0;
  err.length = 0;
  assert.equal(await runFlavorsCli(['import', 'test/fixtures/outpost/flavors.yaml'], io), 1);
  assert.match(err.join('\n'), /name the hub credentials/);
  assert.equal(await runFlavorsCli(['import'], io), 2);
});
