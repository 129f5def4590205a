import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TemplateError } from '../../../src/templates/errors.js';
import { buildCertsSecret, buildEnvSecret } from '../../../src/templates/render.js';

const OWNER = { apiVersion: 'v1', kind: 'ConfigMap', name: 'anchor', uid: 'u-1' };
const LABELS = { 'app.kubernetes.io/managed-by': 'k8smgr', 'k8smgr/servername': 'srv' };

void describe('buildEnvSecret', () => {
  void it('holds the env as strings plus config env, minus env_skip, plus SERVERNAME and DRF_ID', () => {
    const secret = buildEnvSecret({
      name: 'secret-srv-1a2b3c4d-k8smgr',
      namespace: 'jupyter',
      labels: LABELS,
      owner: OWNER,
      env: {
        JUPYTERHUB_STATUS_URL: 'http://hub/status',
        JUPYTERHUB_API_TOKEN: 'tok',
        JUPYTERHUB_USER_ID: 17,
        FLAG: true,
        NOTHING: null,
        LIST: ['a', 1],
        PATH: '/usr/bin',
        LANG: 'C',
        uuidcode: 'srv',
        SERVERNAME: 'spoofed',
      },
      extraEnv: { SITE: 'jsc', JUPYTERHUB_API_TOKEN: 'overridden-by-config', LC_ALL: 'C' },
      servername: 'srv',
      id: 'srv-1a2b3c4d',
    });
    assert.deepEqual(secret, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'secret-srv-1a2b3c4d-k8smgr',
        namespace: 'jupyter',
        labels: LABELS,
        ownerReferences: [{ ...OWNER, blockOwnerDeletion: false }],
      },
      type: 'Opaque',
      stringData: {
        DRF_ID: 'srv-1a2b3c4d',
        FLAG: 'true',
        JUPYTERHUB_API_TOKEN: 'overridden-by-config',
        JUPYTERHUB_STATUS_URL: 'http://hub/status',
        JUPYTERHUB_USER_ID: '17',
        LIST: '["a",1]',
        NOTHING: '',
        SERVERNAME: 'srv',
        SITE: 'jsc',
      },
    });
    assert.deepEqual(Object.keys(secret.stringData as object), Object.keys(secret.stringData as object).sort());
  });

  void it('uses a custom skip list and works without labels/owner', () => {
    assert.deepEqual(
      buildEnvSecret({ name: 's', namespace: 'n', env: { PATH: '/bin', A: 'a' }, skip: ['A'], servername: 'x', id: 'x-1' }),
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'n' }, type: 'Opaque', stringData: { DRF_ID: 'x-1', PATH: '/bin', SERVERNAME: 'x' } },
    );
  });

  void it('rejects keys Kubernetes would refuse', () => {
    assert.throws(
      () => buildEnvSecret({ name: 's', namespace: 'n', env: { 'A B': 'x' }, servername: 'x', id: 'x-1' }),
      (e: unknown) => e instanceof TemplateError && e.code === 'bad_value' && /A B/.test(e.message),
    );
  });
});

void describe('buildCertsSecret', () => {
  void it('holds key, cert and CA', () => {
    assert.deepEqual(
      buildCertsSecret({
        name: 'secret-certs-srv-1a2b3c4d-k8smgr',
        namespace: 'jupyter',
        labels: LABELS,
        owner: OWNER,
        certs: { keyfile: 'KEY', certfile: 'CERT', cafile: 'CA' },
      }),
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: 'secret-certs-srv-1a2b3c4d-k8smgr',
          namespace: 'jupyter',
          labels: LABELS,
          ownerReferences: [{ ...OWNER, blockOwnerDeletion: false }],
        },
        type: 'Opaque',
        stringData: {
          JUPYTERHUB_SSL_CERTFILE_DATA: 'CERT',
          JUPYTERHUB_SSL_CLIENT_CA_DATA: 'CA',
          JUPYTERHUB_SSL_KEYFILE_DATA: 'KEY',
        },
      },
    );
  });

  void it('names a missing field', () => {
    const bad = (certs: unknown, re: RegExp): void =>
      assert.throws(
        () => buildCertsSecret({ name: 's', namespace: 'n', certs }),
        (e: unknown) => e instanceof TemplateError && e.code === 'bad_value' && re.test(e.message),
      );
    bad(undefined, /certs$/);
    bad('pem', /certs$/);
    bad({ keyfile: 'k', certfile: 'c' }, /certs\.cafile/);
    bad({ keyfile: 5, certfile: 'c', cafile: 'a' }, /certs\.keyfile/);
  });
});
