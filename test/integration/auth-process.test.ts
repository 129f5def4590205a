// Two real manager processes on one cluster: a credential made in one process
// authenticates in another at once, both ways. This file is its own child:
// run with K8SMGR_AUTH_CHILD set, it acts as the second process instead of
// running tests (secrets reach it through the environment, never argv).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { CredentialAuthenticator } from '../../src/auth/authenticator.js';
import { basicHeader } from '../../src/auth/headers.js';
import { createCredentialStore } from '../../src/auth/store.js';
import { KubeGateway } from '../../src/kube/gateway.js';

const DEPLOYMENT = 'proc';

async function child(env: NodeJS.ProcessEnv): Promise<void> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(env.CHILD_KUBECONFIG!);
  const gateway = new KubeGateway(kc, { fieldManager: 'k8smgr' });
  const store = createCredentialStore({ gateway, namespace: env.CHILD_NAMESPACE!, deploymentName: DEPLOYMENT });
  store.start();
  await store.waitForSync();
  try {
    if (env.CHILD_MODE === 'create') {
      await store.createOrUpdate(env.CHILD_NAME!, { password: env.CHILD_PASSWORD!, groups: ['access_to_webservice'] });
      const token = await store.createToken(env.CHILD_NAME!);
      process.stdout.write(`${JSON.stringify({ token })}\n`);
    } else {
      const auth = new CredentialAuthenticator({ store });
      const outcome = await auth.authenticate({ authorization: env.CHILD_AUTH! }, '127.0.0.1');
      const principal = outcome.ok ? { credential: outcome.principal.credential, groups: [...outcome.principal.groups] } : undefined;
      process.stdout.write(`${JSON.stringify({ ok: outcome.ok, principal })}\n`);
    }
  } finally {
    store.stop();
  }
}

if (process.env.K8SMGR_AUTH_CHILD === '1') {
  await child(process.env);
} else {
  const { testNamespace } = await import('../helpers/cluster.js');
  const ns = await testNamespace();
  const run = async (extra: Record<string, string>): Promise<Record<string, unknown>> => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
      env: { ...process.env, K8SMGR_AUTH_CHILD: '1', CHILD_KUBECONFIG: ns.kubeconfigPath, CHILD_NAMESPACE: ns.namespace, ...extra },
      timeout: 60_000,
    });
    return JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  };

  void describe('two manager processes', () => {
    const gateway = new KubeGateway(ns.kc, { fieldManager: 'k8smgr' });
    const store = createCredentialStore({ gateway, namespace: ns.namespace, deploymentName: DEPLOYMENT });
    const auth = new CredentialAuthenticator({ store });
    after(() => store.stop());

    void it('created here, authenticates in a child process', async () => {
      store.start();
      await store.waitForSync();
      await store.createOrUpdate('parent-made', { password: 'parent-pw-71', groups: ['access_to_webservice', 'access_to_logging'] });
      const token = await store.createToken('parent-made');
      const basic = await run({ CHILD_AUTH: basicHeader('parent-made', 'parent-pw-71') });
      assert.deepEqual(basic, { ok: true, principal: { credential: 'parent-made', groups: ['access_to_logging', 'access_to_webservice'] } });
      assert.equal((await run({ CHILD_AUTH: `token ${token}` })).ok, true);
      assert.equal((await run({ CHILD_AUTH: basicHeader('parent-made', 'wrong') })).ok, false);
    });

    void it('created in a child process, authenticates here at once', async () => {
      const { token } = (await run({ CHILD_MODE: 'create', CHILD_NAME: 'child-made', CHILD_PASSWORD: 'child-pw-42' })) as { token: string };
      assert.match(token, /^k8smgr_/);
      const basic = await auth.authenticate({ authorization: basicHeader('child-made', 'child-pw-42') }, '10.0.0.1');
      assert.ok(basic.ok && basic.principal.credential === 'child-made');
      const bearer = await auth.authenticate({ authorization: `Bearer ${token}` }, '10.0.0.1');
      assert.ok(bearer.ok && bearer.principal.groups.has('access_to_webservice'));
    });
  });
}
