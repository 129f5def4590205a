import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryBackend } from '../../../src/auth/backend.js';
import { CredentialAuthenticator } from '../../../src/auth/authenticator.js';
import { basicHeader } from '../../../src/auth/headers.js';
import { applyStartupUsers } from '../../../src/auth/startup.js';
import { CredentialStore } from '../../../src/auth/store.js';
import { cheapHasher } from './support.js';

void describe('applyStartupUsers', () => {
  void it('creates each credential with its <CRED>_USER_PASS; a missing variable is an error naming it, the others are created', async () => {
    const store = new CredentialStore(new MemoryBackend(), { hasher: cheapHasher() });
    const env: Record<string, string> = { JUPYTERHUB_USER_PASS: 'hub-pw', JSC_HUB_2_USER_PASS: 'second-pw' };
    const result = await applyStartupUsers(
      store,
      {
        jupyterhub: ['access_to_webservice', 'access_to_logging'],
        missing: ['access_to_webservice'],
        'jsc-hub.2': ['access_to_webservice'],
        badgroup: ['root'],
      },
      (name) => (name === 'BADGROUP_USER_PASS' ? 'x' : env[name]),
    );
    assert.deepEqual(result.created, ['jupyterhub', 'jsc-hub.2']);
    assert.equal(result.errors.length, 2);
    assert.match(result.errors[0]!, /MISSING_USER_PASS/);
    assert.match(result.errors[0]!, /"missing"/);
    assert.match(result.errors[1]!, /badgroup: Unknown group\(s\): root/);
    const auth = new CredentialAuthenticator({ store });
    const ok = await auth.authenticate({ authorization: basicHeader('jsc-hub.2', 'second-pw') }, 'x');
    assert.equal(ok.ok, true);
    const hub = await auth.authenticate({ authorization: basicHeader('jupyterhub', 'hub-pw') }, 'x');
    assert.ok(hub.ok && hub.principal.groups.has('access_to_logging'));
  });

  void it('updates groups and password of an existing credential', async () => {
    const store = new CredentialStore(new MemoryBackend(), { hasher: cheapHasher() });
    await store.createOrUpdate('hub', { password: 'old', groups: ['access_to_logging'] });
    const result = await applyStartupUsers(store, { hub: ['access_to_webservice'] }, () => 'new');
    assert.deepEqual(result, { created: ['hub'], errors: [] });
    const auth = new CredentialAuthenticator({ store });
    assert.equal((await auth.authenticate({ authorization: basicHeader('hub', 'old') }, 'x')).ok, false);
    const now = await auth.authenticate({ authorization: basicHeader('hub', 'new') }, 'x');
    assert.ok(now.ok && now.principal.groups.has('access_to_webservice') && !now.principal.groups.has('access_to_logging'));
  });
});
