import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  isLabelValue,
  k8sName,
  labelValue,
  serviceId,
  startNames,
  validateServername,
  validateStartId,
} from '../../../src/templates/names.js';

const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const sha10 = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 10);

void describe('serviceId', () => {
  void it('joins servername and start id with -', () => {
    assert.equal(serviceId('jupyterlab-abc', '1a2b3c4d'), 'jupyterlab-abc-1a2b3c4d');
  });
});

void describe('validateServername / validateStartId', () => {
  void it('accepts DNS-1123 style servernames up to 200 characters', () => {
    for (const ok of ['a', '0', 'abc-def', '12-jupyterlab-x9', 'a'.repeat(200)]) assert.equal(validateServername(ok), null, ok);
  });
  void it('rejects others with a message', () => {
    for (const bad of ['', 'A', 'abc_def', '-abc', 'abc-', 'a.b', 'a/b', '../x', 'a b', 'a'.repeat(201), 5, null, undefined]) {
      const msg = validateServername(bad);
      assert.equal(typeof msg, 'string', String(bad));
      assert.match(msg as string, /servername/);
    }
  });
  void it('accepts 1-16 lowercase alnum start ids', () => {
    for (const ok of ['1a2b3c4d', 'a', 'x'.repeat(16)]) assert.equal(validateStartId(ok), null);
    for (const bad of ['', 'ABCDEFGH', 'abc-def', 'x'.repeat(17), '../', 12345678]) {
      assert.match(validateStartId(bad) ?? '', /start_id/);
    }
  });
});

void describe('k8sName', () => {
  void it('keeps short valid names unchanged', () => {
    assert.equal(k8sName('secret', 'abc-12345678', 'k8smgr'), 'secret-abc-12345678-k8smgr');
    const exactly63 = 'a'.repeat(63);
    assert.equal(k8sName(exactly63), exactly63);
  });

  void it('shortens long names deterministically to <= 63 chars with a sha256 suffix', () => {
    const long = 'x'.repeat(100);
    const name = k8sName('secret', long, 'k8smgr');
    const full = `secret-${long}-k8smgr`;
    assert.equal(name.length, 63);
    assert.match(name, DNS1123);
    assert.equal(name, `secret-${'x'.repeat(45)}-${sha10(full)}`);
    assert.equal(k8sName('secret', long, 'k8smgr'), name);
  });

  void it('does not collide for two long names sharing a 100-char prefix', () => {
    const base = 'p'.repeat(100);
    const a = k8sName(base, 'aaaaaaaa');
    const b = k8sName(base, 'bbbbbbbb');
    assert.notEqual(a, b);
    assert.equal(a.slice(0, 52), b.slice(0, 52));
    for (const n of [a, b]) {
      assert.ok(n.length <= 63);
      assert.match(n, DNS1123);
    }
  });

  void it('trims a trailing - before the hash', () => {
    // the cut at 52 characters lands right after a '-'
    const name = k8sName('a'.repeat(51), 'b'.repeat(30));
    assert.equal(name, `${'a'.repeat(51)}-${sha10(`${'a'.repeat(51)}-${'b'.repeat(30)}`)}`);
    assert.match(name, DNS1123);
  });

  void it('sanitizes invalid characters and hashes them so they cannot collide', () => {
    const a = k8sName('secret', 'x', 'My_Deploy');
    const b = k8sName('secret', 'x', 'my-deploy');
    assert.match(a, DNS1123);
    assert.equal(a, `secret-x-my-deploy-${sha10('secret-x-My_Deploy')}`);
    assert.equal(b, 'secret-x-my-deploy');
    assert.match(k8sName('---'), DNS1123);
    assert.equal(k8sName('---'), sha10('---'));
  });
});

void describe('labelValue', () => {
  void it('keeps valid label values', () => {
    for (const v of ['', 'a', 'A.b_c-9', 'x'.repeat(63), '12345']) {
      assert.ok(isLabelValue(v));
      assert.equal(labelValue(v), v);
    }
  });
  void it('hashes invalid or long values into valid ones', () => {
    for (const v of ['x'.repeat(64), 'a b', '-abc', 'abc.', 'user@example.org', 'ä']) {
      const l = labelValue(v);
      assert.ok(isLabelValue(l), `${v} -> ${l}`);
      assert.equal(labelValue(v), l);
      assert.ok(l.endsWith(sha10(v)));
    }
    assert.equal(labelValue('user@example.org'), `user-example.org-${sha10('user@example.org')}`);
    assert.notEqual(labelValue('a b'), labelValue('a-b'));
  });
});

void describe('startNames', () => {
  void it('uses DEPLOYMENT_NAME default k8smgr and prefix default depl-', () => {
    assert.deepEqual(startNames({ id: 'srv-1a2b3c4d' }), {
      id: 'srv-1a2b3c4d',
      envSecret: 'secret-srv-1a2b3c4d-k8smgr',
      certsSecret: 'secret-certs-srv-1a2b3c4d-k8smgr',
      mainDeployment: 'depl-srv-1a2b3c4d',
    });
  });
  void it('uses the given deployment name and prefix', () => {
    assert.deepEqual(startNames({ id: 'srv-1', deploymentName: 'mgr', prefix: 'deployment-main-' }), {
      id: 'srv-1',
      envSecret: 'secret-srv-1-mgr',
      certsSecret: 'secret-certs-srv-1-mgr',
      mainDeployment: 'deployment-main-srv-1',
    });
  });
  void it('shortens every name of a long id to a valid label', () => {
    const id = `${'s'.repeat(120)}-1a2b3c4d`;
    const n = startNames({ id, deploymentName: 'k8smgr' });
    for (const name of [n.envSecret, n.certsSecret, n.mainDeployment]) {
      assert.ok(name.length <= 63);
      assert.match(name, DNS1123);
    }
    assert.notEqual(n.envSecret, n.certsSecret);
    assert.ok(n.envSecret.startsWith('secret-sss'));
    assert.ok(n.certsSecret.startsWith('secret-certs-sss'));
    assert.ok(n.mainDeployment.startsWith('depl-sss'));
  });
});
