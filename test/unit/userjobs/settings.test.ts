import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readUserjobsSettings, systemsFromSshConfig } from '../../../src/userjobs/settings.js';

test('defaults when the section is missing', () => {
  const r = readUserjobsSettings({});
  assert.ok('settings' in r);
  assert.deepEqual(r.settings.port_range, [40000, 40999]);
  assert.equal(r.settings.bind_address, '0.0.0.0');
  assert.equal(r.settings.enabled, true);
});

test('wrong values are refused with their key', () => {
  const r = readUserjobsSettings({ userjobs: { port_range: [5, 1], check_interval_seconds: 0 } });
  assert.ok('problems' in r);
  assert.ok(r.problems.some((p) => p.startsWith('userjobs.check_interval_seconds')), r.problems.join('\n'));
  const reversed = readUserjobsSettings({ userjobs: { port_range: [5000, 4000] } });
  assert.ok('problems' in reversed && reversed.problems[0]?.includes('port_range'));
  assert.ok('problems' in readUserjobsSettings({ userjobs: { systems: ['-bad'] } }));
});

test('systems from the SSH config: every Host tunnel_<system>, no wildcards', () => {
  const text = [
    'Host *', '  ServerAliveInterval 30',
    'Host tunnel_JUWELS tunnel_jureca', '  HostName login.example.org',
    'host tunnel_hpc-1', 'Host tunnel_* other', 'Host login_x', '  HostName y',
  ].join('\n');
  assert.deepEqual(systemsFromSshConfig(text), ['JUWELS', 'jureca', 'hpc-1']);
});
