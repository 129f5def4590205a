import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TemplateError } from '../../../src/templates/errors.js';
import { parseOptionsYaml } from '../../../src/templates/options.js';
import {
  applyTable,
  buildReplacementTables,
  configValueToString,
  findUnreplaced,
  keywordNamesFromConfig,
  renderText,
  uniqueUserId,
  type ReplaceInput,
} from '../../../src/templates/replace.js';

const KEYWORDS = {
  id: 'srv-1a2b3c4d',
  unique_user_id: 'jupyterjsc_17',
  user_id: '17',
  secret_name: 'secret-srv-1a2b3c4d-k8smgr',
  secret_certs_name: 'secret-certs-srv-1a2b3c4d-k8smgr',
  namespace: 'jupyter',
  input: 'H4sIAAAA==',
};

function base(extra: Partial<ReplaceInput> = {}): ReplaceInput {
  return { keywords: KEYWORDS, credential: 'jupyterjsc', stage: 'production', ...extra };
}

function code(c: string, re?: RegExp): (e: unknown) => boolean {
  return (e: unknown) => e instanceof TemplateError && e.code === c && (re === undefined || re.test(e.message));
}

void describe('keywords', () => {
  void it('replaces each keyword (default names, default indicators)', () => {
    const text = 'id=<id> uuid=<unique_user_id> uid=<user_id> s=<secret_name> c=<secret_certs_name> ns=<namespace> in=<input>';
    assert.equal(
      renderText(text, base()),
      'id=srv-1a2b3c4d uuid=jupyterjsc_17 uid=17 s=secret-srv-1a2b3c4d-k8smgr c=secret-certs-srv-1a2b3c4d-k8smgr ns=jupyter in=H4sIAAAA==',
    );
  });
  void it('replaces every occurrence', () => {
    assert.equal(renderText('<id>/<id>/<id>', base()), 'srv-1a2b3c4d/srv-1a2b3c4d/srv-1a2b3c4d');
  });
  void it('uses configurable indicators', () => {
    const text = 'a: ?!!?mYinPut!??!\nb: ?!!?id!??!\nc: <id>';
    const out = renderText(text, base({ indicators: ['?!!?', '!??!'], keywordNames: { input: 'mYinPut' } }));
    assert.equal(out, 'a: H4sIAAAA==\nb: srv-1a2b3c4d\nc: <id>');
  });
  void it('uses configurable keyword names (from config keys)', () => {
    const names = keywordNamesFromConfig({
      drfid_keyword: 'DRF',
      uniqueuserid_keyword: 'UUID',
      userid_keyword: 'UID',
      secretname_keyword: 'SEC',
      secretcertsname_keyword: 'CERTS',
      namespace_keyword: 'NS',
      input_keyword: 'IN',
    });
    assert.deepEqual(names, {
      id: 'DRF', unique_user_id: 'UUID', user_id: 'UID', secret_name: 'SEC', secret_certs_name: 'CERTS', namespace: 'NS', input: 'IN',
    });
    const out = renderText('<DRF> <UUID> <UID> <SEC> <CERTS> <NS> <IN> <id>', base({ keywordNames: names }));
    assert.equal(out, 'srv-1a2b3c4d jupyterjsc_17 17 secret-srv-1a2b3c4d-k8smgr secret-certs-srv-1a2b3c4d-k8smgr jupyter H4sIAAAA== <id>');
    assert.deepEqual(keywordNamesFromConfig(undefined).id, 'id');
    assert.deepEqual(keywordNamesFromConfig({ drfid_keyword: '' }).id, 'id');
  });
  void it('leaves unknown <foo> text (e.g. HTML) alone', () => {
    const text = 'msg: "<details><summary>Hi <b>you</b></summary>x</details> <id> <ids> <id >"';
    assert.equal(renderText(text, base()), 'msg: "<details><summary>Hi <b>you</b></summary>x</details> srv-1a2b3c4d <ids> <id >"');
  });
  void it('inserts values literally ($& and $1 stay)', () => {
    const out = renderText('a: <x>', base({ replaceCredential: { jupyterjsc: { x: '$&-$1-$$' } } }));
    assert.equal(out, 'a: $&-$1-$$');
  });
  void it('uniqueUserId is <credential>_<user_id>', () => {
    assert.equal(uniqueUserId('jupyterjsc', 17), 'jupyterjsc_17');
  });
  void it('rejects broken indicators', () => {
    assert.throws(() => renderText('x', base({ indicators: ['<'] })), code('bad_object', /indicators/));
    assert.throws(() => renderText('x', base({ indicators: ['', '>'] })), code('bad_object'));
  });
});

void describe('stage / credential / stage_credential', () => {
  const replaceStage = { production: { nfs: 'nfs-prod', port: 2049, flag: true }, staging: { nfs: 'nfs-stage' } };
  const replaceCredential = { jupyterjsc: { quota: '10Gi' }, other: { quota: '1Gi' } };
  const replaceStageCredential = { production: { jupyterjsc: { tier: 'gold' }, other: { tier: 'bronze' } } };

  void it('replaces keys of the current stage, credential and stage+credential', () => {
    const out = renderText('<nfs> <port> <flag> <quota> <tier>', base({ replaceStage, replaceCredential, replaceStageCredential }));
    assert.equal(out, 'nfs-prod 2049 true 10Gi gold');
  });
  void it('picks the other stage/credential tables when those are current', () => {
    const out = renderText('<nfs> <quota>', base({ stage: 'staging', credential: 'other', replaceStage, replaceCredential }));
    assert.equal(out, 'nfs-stage 1Gi');
  });
  void it('runs in order keywords, stage_credential, stage, credential', () => {
    const tables = buildReplacementTables(
      base({
        replaceStageCredential: { production: { jupyterjsc: { a: '<b>', k: '<id>' } } },
        replaceStage: { production: { b: '<c>', a: 'from-stage' } },
        replaceCredential: { jupyterjsc: { c: 'from-cred', b: 'from-cred-b' } },
      }),
    );
    assert.equal(tables.length, 5);
    // a (stage_credential) → <b>; b (stage) → <c>; c (credential) → from-cred
    const text = '<a>|<b>|<c>';
    let out = text;
    for (const t of tables) out = applyTable(out, t, ['<', '>']);
    assert.equal(out, 'from-cred|from-cred|from-cred');
  });
  void it('an earlier pass wins for the same key', () => {
    const input = base({
      replaceStageCredential: { production: { jupyterjsc: { k: 'sc' } } },
      replaceStage: { production: { k: 'stage', s: 'stage' } },
      replaceCredential: { jupyterjsc: { k: 'cred', s: 'cred', c: 'cred' } },
    });
    assert.equal(renderText('<k> <s> <c>', input), 'sc stage cred');
  });
  void it('a keyword inside a config value is not replaced (keywords ran first) and is reported', () => {
    const input = base({ replaceStage: { production: { v: 'x-<id>' } } });
    assert.throws(() => renderText('<v>', input), code('unreplaced', /<id>/));
  });
  void it('stringifies admin values', () => {
    assert.equal(configValueToString(3), '3');
    assert.equal(configValueToString(false), 'false');
    assert.equal(configValueToString(null), '');
    assert.equal(configValueToString({ a: [1] }), '{"a":[1]}');
  });
  void it('reports known keys without a value in this stage/credential', () => {
    assert.throws(
      () => renderText('server: <nfs>', base({ stage: 'dev', replaceStage })),
      code('unreplaced', /<nfs>/),
    );
    assert.throws(
      () => renderText('q: <quota>', base({ credential: 'third', replaceCredential })),
      code('unreplaced', /<quota>/),
    );
    assert.deepEqual(findUnreplaced('<a> <b> <c>', ['a', 'c', 'd'], ['<', '>']), ['a', 'c']);
  });
  void it('without a stage only credential tables apply', () => {
    assert.equal(renderText('<quota>', base({ stage: undefined, replaceCredential })), '10Gi');
  });
});

void describe('user options', () => {
  const declaredOptions = parseOptionsYaml('image_tag: {pattern: "[0-9]+\\\\.[0-9]+", default: "4.1"}\nflavor: {}\nfree: {pattern: ".*"}\n');

  void it('replaces declared options only', () => {
    const out = renderText('<image_tag> <flavor> <free> <service> <other>', base({
      declaredOptions,
      userOptions: { image_tag: '4.2', flavor: 'large', free: 'anything-goes', service: 'jupyterlab/default', other: 'x' },
    }));
    assert.equal(out, '4.2 large anything-goes <service> <other>');
  });
  void it('uses the default for a missing option; missing without default is an error', () => {
    assert.equal(renderText('<image_tag>', base({ declaredOptions, userOptions: { flavor: 'a', free: '' } })), '4.1');
    assert.throws(() => renderText('<flavor>', base({ declaredOptions, userOptions: {} })), code('bad_value', /flavor/));
  });
  void it('rejects values not matching the pattern', () => {
    assert.throws(
      () => renderText('<image_tag>', base({ declaredOptions, userOptions: { image_tag: 'latest', flavor: 'a', free: '' } })),
      code('bad_value', /image_tag/),
    );
  });
  void it('rejects injection attempts', () => {
    for (const attack of ['a\nkind: Secret', 'x: y', "'", '"', '{a}', '[a]', 'a\n---\nkind: Role', '<id>']) {
      assert.throws(
        () => renderText('value: <free>', base({ declaredOptions, userOptions: { flavor: 'a', free: attack } })),
        code('bad_value', /free/),
        JSON.stringify(attack),
      );
    }
  });
  void it('runs last: a config value may refer to a user option, a user value is never scanned again', () => {
    const out = renderText('<img>', base({
      declaredOptions,
      userOptions: { flavor: 'a', free: 'x', image_tag: '5.0' },
      replaceStage: { production: { img: 'jupyter:<image_tag>' } },
    }));
    assert.equal(out, 'jupyter:5.0');
  });
  void it('custom indicators inside a user value are refused', () => {
    assert.throws(
      () =>
        renderText('?!!?free!??!', base({
          indicators: ['?!!?', '!??!'],
          declaredOptions,
          userOptions: { flavor: 'a', free: '?!!?id!??!' },
        })),
      code('bad_value', /free/),
    );
  });
});
