import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TemplateError } from '../../../src/templates/errors.js';
import { attachOwner, renderManifests, startLabels, type KubeObject, type RenderContext } from '../../../src/templates/render.js';

const OWNER = { apiVersion: 'v1', kind: 'Secret', name: 'secret-srv-1a2b3c4d-k8smgr', uid: 'uid-123' };
const OWNER_REF = { ...OWNER, blockOwnerDeletion: false };
const LABELS = {
  'app.kubernetes.io/managed-by': 'k8smgr',
  'k8smgr/servername': 'srv',
  'k8smgr/start-id': '1a2b3c4d',
};
const CTX: RenderContext = { namespace: 'jupyter', labels: LABELS, owner: OWNER };

function code(c: string, re?: RegExp): (e: unknown) => boolean {
  return (e: unknown) => e instanceof TemplateError && e.code === c && (re === undefined || re.test(e.message));
}

void describe('renderManifests', () => {
  void it('sets namespace, merges labels and adds the owner reference on parsed objects', () => {
    const text = `
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cm-a
  labels:
    app: a
    app.kubernetes.io/managed-by: someone-else
data:
  x: "1"
---
# empty document below
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: depl-srv
  namespace: jupyter
  ownerReferences:
    - apiVersion: v1
      kind: ConfigMap
      name: other
      uid: other-uid
spec:
  selector:
    matchLabels: {app: a}
  template:
    metadata:
      labels: {app: a}
    spec:
      containers: [{name: main, image: x}]
`;
    const objs = renderManifests(text, CTX);
    assert.deepEqual(objs, [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: 'cm-a',
          namespace: 'jupyter',
          labels: { app: 'a', ...LABELS },
          ownerReferences: [OWNER_REF],
        },
        data: { x: '1' },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: {
          name: 'depl-srv',
          namespace: 'jupyter',
          labels: LABELS,
          ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'other', uid: 'other-uid' }, OWNER_REF],
        },
        spec: {
          selector: { matchLabels: { app: 'a' } },
          template: {
            metadata: { labels: { app: 'a', ...LABELS } },
            spec: { containers: [{ name: 'main', image: 'x' }] },
          },
        },
      },
    ]);
  });

  void it('labels CronJob pod templates and adds missing template metadata', () => {
    const text = `apiVersion: batch/v1
kind: CronJob
metadata: {name: cj}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec: {containers: [{name: c, image: x}]}
`;
    const [cj] = renderManifests(text, { namespace: 'ns', labels: { a: 'b' } });
    assert.deepEqual(cj, {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'cj', namespace: 'ns', labels: { a: 'b' } },
      spec: {
        schedule: '* * * * *',
        jobTemplate: { spec: { template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } } },
      },
    });
  });

  void it('does not duplicate an owner reference with the same uid; without owner/labels only the namespace is set', () => {
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  ownerReferences: [{apiVersion: v1, kind: Secret, name: s, uid: uid-123}]\n';
    assert.deepEqual(renderManifests(text, CTX)[0]?.metadata.ownerReferences, [OWNER_REF]);
    assert.deepEqual(renderManifests('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n', { namespace: 'n' }), [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'n' } },
    ]);
  });

  void it('makes label values valid', () => {
    const [o] = renderManifests('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n', {
      namespace: 'n',
      labels: { 'k8smgr/user-id': 'user@example.org' },
    });
    assert.match(o?.metadata.labels?.['k8smgr/user-id'] ?? '', /^user-example\.org-[0-9a-f]{10}$/);
  });

  void it('returns [] for an empty template', () => {
    assert.deepEqual(renderManifests('', CTX), []);
    assert.deepEqual(renderManifests('---\n# only comments\n---\n', CTX), []);
  });

  void it('reports YAML errors with document and line', () => {
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: [unclosed\n';
    assert.throws(() => renderManifests(text, CTX), code('parse', /document 2.*line \d+/s));
    assert.throws(() => renderManifests('a: 1\na: 2\n', CTX), code('parse', /document 1/));
    assert.throws(() => renderManifests('a: b: c\n', CTX), code('parse', /line 1/));
  });

  void it('rejects objects without apiVersion, kind or metadata.name, naming the document', () => {
    assert.throws(() => renderManifests('apiVersion: v1\nmetadata: {name: a}\n', CTX), code('bad_object', /document 1: missing kind/));
    assert.throws(
      () => renderManifests('apiVersion: v1\nkind: A\nmetadata: {name: a}\n---\nkind: ConfigMap\nmetadata: {name: b}\n', CTX),
      code('bad_object', /document 2: missing apiVersion/),
    );
    assert.throws(() => renderManifests('apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n', CTX), code('bad_object', /metadata\.name/));
    assert.throws(() => renderManifests('apiVersion: v1\nkind: ConfigMap\n', CTX), code('bad_object', /metadata\.name/));
    assert.throws(() => renderManifests('- a\n- b\n', CTX), code('bad_object', /not a mapping/));
    assert.throws(() => renderManifests('just text\n', CTX), code('bad_object', /not a mapping/));
    assert.throws(() => renderManifests('apiVersion: v1\nkind: 5\nmetadata: {name: a}\n', CTX), code('bad_object', /missing kind/));
  });

  void it('rejects another namespace', () => {
    assert.throws(
      () => renderManifests('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: kube-system}\n', CTX),
      code('bad_object', /ConfigMap a.*kube-system/),
    );
  });

  void it('rejects cluster-scoped kinds and lists', () => {
    for (const kind of ['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PersistentVolume', 'StorageClass', 'CustomResourceDefinition', 'Node', 'PriorityClass', 'List', 'ConfigMapList']) {
      assert.throws(
        () => renderManifests(`apiVersion: v1\nkind: ${kind}\nmetadata: {name: a}\n`, CTX),
        code('bad_object', new RegExp(`kind ${kind} is not allowed`)),
      );
    }
  });

  void it('limits alias expansion', () => {
    const bomb = ['a: &a ["x","x"]', 'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]', 'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]', 'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]', 'e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]'].join('\n');
    assert.throws(() => renderManifests(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  ${bomb.replace(/\n/g, '\n  ')}\n`, CTX), code('parse'));
  });
});

void describe('startLabels', () => {
  void it('builds the one label set of a start (k8smgr.io/...)', () => {
    assert.deepEqual(startLabels('k8smgr-test', { servername: 'srv', start_id: '1a2b3c4d', jhub_credential: 'jupyterjsc', jhub_user_id: 17 }), {
      'app.kubernetes.io/managed-by': 'k8smgr',
      'k8smgr.io/instance': 'k8smgr-test',
      'k8smgr.io/anchor': 'k8smgr-183e0f84-srv',
      'k8smgr.io/servername': 'srv',
      'k8smgr.io/start-id': '1a2b3c4d',
      'k8smgr.io/credential': 'jupyterjsc',
      'k8smgr.io/user-id': '17',
    });
  });
});

void describe('attachOwner', () => {
  const declared = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'shared', uid: 'uid-shared', controller: true };
  const obj: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', namespace: 'jupyter', ownerReferences: [declared] } };

  void it('adds the owner and keeps the owner references the template declared, without changing its input', () => {
    const owned = attachOwner(obj, OWNER);
    assert.deepEqual(owned.metadata.ownerReferences, [declared, OWNER_REF]);
    assert.deepEqual(obj.metadata.ownerReferences, [declared]);
  });

  void it('replaces a reference to the same owner instead of adding a second one', () => {
    const twice = attachOwner(attachOwner(obj, OWNER), { ...OWNER, name: 'renamed' });
    assert.deepEqual(twice.metadata.ownerReferences, [declared, { ...OWNER_REF, name: 'renamed' }]);
  });
});
