import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryBackend } from '../../../src/auth/backend.js';
import { CredentialStore } from '../../../src/auth/store.js';
import { runUserCommand } from '../../../src/cli/user.js';
import { cheapHasher } from './support.js';

function setup(stdin = 'from-stdin\n') {
  const backend = new MemoryBackend();
  const store = new CredentialStore(backend, { hasher: cheapHasher() });
  const lines: string[] = [];
  const run = (...args: string[]) =>
    runUserCommand(args, {
      store,
      out: (l) => lines.push(l),
      readPassword: async () => stdin.split('\n')[0] ?? '',
      lookup: (name) => (name === 'HUB_PW' ? 'from-env' : undefined),
    });
  return { backend, store, lines, run };
}

void describe('k8smgr user', () => {
  void it('add (stdin or --password-env), list, set-groups, token, remove', async () => {
    const { store, lines, run, backend } = setup();
    assert.equal(await run('add', 'hub', '--groups', 'access_to_webservice'), 0);
    assert.equal(await run('add', 'hub2', '--groups=access_to_webservice,access_to_logging', '--password-env', 'HUB_PW'), 0);
    assert.equal(await run('add', 'tokenonly', '--groups', 'access_to_webservice', '--no-password'), 0);
    assert.deepEqual(lines.splice(0), ['created: hub', 'created: hub2', 'created: tokenonly']);
    assert.equal(await run('set-groups', 'hub', 'access_to_logging'), 0);
    assert.equal(await run('token', 'hub'), 0);
    const token = lines.find((l) => l.startsWith('k8smgr_'));
    assert.ok(token);
    lines.length = 0;
    assert.equal(await run('list'), 0);
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^hub\tgroups=access_to_logging\tpassword=yes\ttokens=[0-9a-f]{16}$/);
    assert.match(lines[1]!, /^hub2\tgroups=access_to_logging,access_to_webservice\tpassword=yes\ttokens=-$/);
    assert.match(lines[2]!, /^tokenonly\t.*password=no/);
    const printed = lines.join('\n');
    for (const secret of ['from-stdin', 'from-env', token, 'scrypt']) assert.ok(!printed.includes(secret));
    for (const secret of ['from-stdin', 'from-env', token]) assert.ok(!(backend.raw ?? '').includes(secret));
    const id = token.split('_')[1]!;
    assert.equal(await run('token', 'hub', '--revoke', id), 0);
    assert.equal((await store.list())[0]!.tokens.length, 0);
    assert.equal(await run('remove', 'hub'), 0);
    assert.equal((await store.list()).length, 2);
  });

  void it('refuses passwords on the command line, and bad usage', async () => {
    const { run, lines } = setup();
    assert.equal(await run('add', 'hub', '--groups', 'access_to_webservice', '--password', 'secret-on-argv'), 2);
    assert.equal(await run('add', 'hub', '--groups', 'access_to_webservice', '--password=secret-on-argv'), 2);
    assert.ok(!lines.join('\n').includes('secret-on-argv'));
    assert.equal(await run('add', 'hub'), 2, 'no --groups');
    assert.equal(await run('add', 'hub', '--groups', 'access_to_webservice', '--password-env', 'UNSET'), 2);
    assert.equal(await run('frobnicate'), 2);
    assert.equal(await run(), 2);
    assert.equal(await run('add', 'hub', '--groups', 'root'), 1, 'unknown group');
    assert.equal(await run('token', 'nobody'), 1);
    assert.equal(await run('set-groups', 'nobody', 'access_to_webservice'), 1);
    assert.match(lines.join('\n'), /Unknown group\(s\): root/);
  });

  void it('an empty stdin is an error, not an empty password', async () => {
    const { run } = setup('');
    assert.equal(await run('add', 'hub', '--groups', 'access_to_webservice'), 2);
  });
});
