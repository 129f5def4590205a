import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readServiceFolder } from '../../../src/templates/files.js';
import {
  TemplateError,
  packInput,
  prepareStart,
  prepareUpdate,
  templateSettingsFromConfig,
  type PrepareInput,
} from '../../../src/templates/index.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/templates/descriptions', import.meta.url));
const CONFIG = {
  yaml_filename: 'service.yaml',
  deployment_main_name_prefix: 'depl-',
  input_dir: 'input',
  descriptions_ignore_files: ['*.md', '*.swp'],
  skip: { stage: ['production_', 'staging_'], credential: ['jupyterjsc_', 'other_'] },
  replace: {
    stage: { production: { nfs_server: 'nfs-prod.example.org' }, staging: { nfs_server: 'nfs-staging.example.org' } },
    credential: { jupyterjsc: { quota: '10Gi' } },
    stage_credential: {},
  },
};
const settings = templateSettingsFromConfig(CONFIG);
const OWNER = { apiVersion: 'v1', kind: 'Secret', name: 'secret-srv-1a2b3c4d-k8smgr', uid: 'uid-1' };
const OWNER_REF = { ...OWNER, blockOwnerDeletion: false };
// The one label set production uses (services/prepare.ts passes the same).
const LABELS = {
  'app.kubernetes.io/managed-by': 'k8smgr',
  'k8smgr.io/instance': 'k8smgr',
  'k8smgr.io/anchor': 'k8smgr-183e0f84-srv',
  'k8smgr.io/servername': 'srv',
  'k8smgr.io/start-id': '1a2b3c4d',
  'k8smgr.io/credential': 'jupyterjsc',
  'k8smgr.io/user-id': '17',
};

async function input(extra: Partial<PrepareInput> = {}, dir = 'jupyterjsc/jupyterlab/default'): Promise<PrepareInput> {
  const files = await readServiceFolder(path.join(FIXTURES, dir), {
    stage: 'production',
    credential: 'jupyterjsc',
    skipStage: settings.skipStage,
    skipCredential: settings.skipCredential,
    ignore: settings.ignore,
    root: FIXTURES,
  });
  return {
    files,
    settings,
    stage: 'production',
    credential: 'jupyterjsc',
    servername: 'srv',
    startId: '1a2b3c4d',
    userId: 17,
    namespace: 'jupyter',
    userOptions: { service: 'jupyterlab/default', image_tag: '4.2' },
    owner: OWNER,
    ...extra,
  };
}

void describe('templateSettingsFromConfig', () => {
  void it('has the documented defaults', () => {
    const d = templateSettingsFromConfig(undefined);
    assert.deepEqual(d, {
      yamlFilename: 'service.yaml',
      yamlFilenameUpdate: 'update.yaml',
      optionsFilename: 'options.yaml',
      inputDir: 'input',
      deploymentMainNamePrefix: 'depl-',
      indicators: ['<', '>'],
      keywordNames: {
        id: 'id', unique_user_id: 'unique_user_id', user_id: 'user_id', secret_name: 'secret_name',
        secret_certs_name: 'secret_certs_name', namespace: 'namespace', input: 'input',
      },
      replaceStage: {},
      replaceCredential: {},
      replaceStageCredential: {},
      skipStage: [],
      skipCredential: [],
      ignore: [],
      extraEnv: {},
      envSkip: ['LC_ALL', 'LANG', 'PATH', 'PYTHONPATH', 'uuidcode'],
    });
  });
});

void describe('prepareStart', () => {
  void it('renders the selected template into objects with namespace, labels and owner', async () => {
    const inp = await input();
    const p = prepareStart(inp);
    const expectedInput = packInput(inp.files);
    assert.equal(p.id, 'srv-1a2b3c4d');
    assert.deepEqual(p.names, {
      id: 'srv-1a2b3c4d',
      envSecret: 'secret-srv-1a2b3c4d-k8smgr',
      certsSecret: 'secret-certs-srv-1a2b3c4d-k8smgr',
      mainDeployment: 'depl-srv-1a2b3c4d',
    });
    assert.equal(p.input, expectedInput);
    assert.deepEqual(p.labels, LABELS);
    assert.deepEqual(p.objects, [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: {
          name: 'depl-srv-1a2b3c4d',
          namespace: 'jupyter',
          labels: { app: 'srv-1a2b3c4d', ...LABELS },
          ownerReferences: [OWNER_REF],
        },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'srv-1a2b3c4d' } },
          template: {
            metadata: { labels: { app: 'srv-1a2b3c4d', ...LABELS } },
            spec: {
              containers: [
                {
                  name: 'main',
                  image: 'registry.example.org/jupyterlab:4.2',
                  envFrom: [{ secretRef: { name: 'secret-srv-1a2b3c4d-k8smgr' } }],
                  env: [
                    { name: 'INPUT_TGZ', value: expectedInput },
                    { name: 'UNIQUE_USER_ID', value: 'jupyterjsc_17' },
                    { name: 'USER_ID', value: '17' },
                    { name: 'NFS_SERVER', value: 'nfs-prod.example.org' },
                    { name: 'QUOTA', value: '10Gi' },
                    { name: 'BANNER', value: '<b>Welcome</b>' },
                  ],
                  volumeMounts: [{ name: 'certs', mountPath: '/certs' }],
                },
              ],
              volumes: [{ name: 'certs', secret: { secretName: 'secret-certs-srv-1a2b3c4d-k8smgr' } }],
            },
          },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'srv-1a2b3c4d', namespace: 'jupyter', labels: LABELS, ownerReferences: [OWNER_REF] },
        spec: { selector: { app: 'srv-1a2b3c4d' }, ports: [{ port: 8080 }] },
      },
    ]);
    assert.equal(p.files.get('service.yaml')?.toString(), p.renderedText);
    assert.match(p.renderedText, /^# production template/);
    assert.equal(p.files.get('input/config.txt')?.toString(), 'production\n');
    // the caller's map is not changed
    assert.notEqual(inp.files.get('service.yaml')?.toString(), p.renderedText);
  });

  void it('uses the declared default for a missing user option and rejects bad ones', async () => {
    const p = prepareStart(await input({ userOptions: { service: 'x/y' } }));
    assert.match(JSON.stringify(p.objects[0]), /jupyterlab:4\.1/);
    const inp = await input({ userOptions: { image_tag: '4.2\nkind: Secret' } });
    assert.throws(() => prepareStart(inp), (e: unknown) => e instanceof TemplateError && e.code === 'bad_value' && /image_tag/.test(e.message));
    const inp2 = await input({ userOptions: { image_tag: 'latest' } });
    assert.throws(() => prepareStart(inp2), (e: unknown) => e instanceof TemplateError && e.code === 'bad_value');
  });

  void it('puts every object in the given namespace (<namespace> in the template follows it)', async () => {
    const p = prepareStart(await input({ namespace: 'other' }));
    assert.deepEqual(p.objects.map((o) => o.metadata.namespace), ['other', 'other']);
  });

  void it("answers not_found \"Couldn't find service yaml file.\" without a template", async () => {
    const inp = await input();
    const files = new Map(inp.files);
    files.delete('service.yaml');
    assert.throws(
      () => prepareStart({ ...inp, files }),
      (e: unknown) => e instanceof TemplateError && e.code === 'not_found' && e.message === "Couldn't find service yaml file.",
    );
  });

  void it('checks servername and start id', async () => {
    const inp = await input();
    assert.throws(() => prepareStart({ ...inp, servername: '../x' }), (e: unknown) => e instanceof TemplateError && e.code === 'bad_value');
    assert.throws(() => prepareStart({ ...inp, startId: 'ABC' }), (e: unknown) => e instanceof TemplateError && e.code === 'bad_value');
  });

  void it('honours a custom yaml filename and deployment name', async () => {
    const inp = await input({ deploymentName: 'mgr', settings: { ...settings, yamlFilename: 'update.yaml' } });
    const p = prepareStart(inp);
    assert.equal(p.names.envSecret, 'secret-srv-1a2b3c4d-mgr');
    assert.equal(p.labels['k8smgr.io/instance'], 'mgr');
    assert.deepEqual(p.objects.map((o) => o.metadata.name), ['update-srv-1a2b3c4d']);
  });
});

void describe('prepareUpdate', () => {
  void it('renders update.yaml', async () => {
    const p = prepareUpdate(await input());
    assert.deepEqual(p.objects, [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'update-srv-1a2b3c4d', namespace: 'jupyter', labels: LABELS, ownerReferences: [OWNER_REF] },
        data: { stage_value: 'nfs-prod.example.org' },
      },
    ]);
    assert.equal(p.files.get('update.yaml')?.toString(), p.renderedText);
  });
  void it('answers no_update without update.yaml', async () => {
    const inp = await input({}, 'jupyterjsc/noupdate/default');
    assert.throws(() => prepareUpdate(inp), (e: unknown) => e instanceof TemplateError && e.code === 'no_update');
    assert.deepEqual(prepareStart(inp).objects.map((o) => o.metadata.name), ['cm-srv-1a2b3c4d']);
  });
});
