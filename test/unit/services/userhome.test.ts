import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../../src/config/parse.js';
import { ensureUserhome } from '../../../src/services/userhome.js';

test('two starts of one user at once (two named servers): one creates the home from the skeleton, the other finds it, none fails', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'k8smgr-userhome-'));
  mkdirSync(path.join(root, 'skel', 'hub', 'sub'), { recursive: true });
  writeFileSync(path.join(root, 'skel', 'hub', 'hello.txt'), 'hi');
  writeFileSync(path.join(root, 'skel', 'hub', 'sub', 'deep.txt'), 'deep');
  const { config } = parseConfig(JSON.stringify({ userhomes: { base: path.join(root, 'homes'), skel: path.join(root, 'skel') } }));
  const results = await Promise.all(Array.from({ length: 5 }, () => ensureUserhome(config, { credential: 'hub', service: 'lab', userId: 8 })));
  assert.equal(results.filter(Boolean).length, 1, `exactly one start created the home: ${JSON.stringify(results)}`);
  const home = path.join(root, 'homes', 'hub', '8');
  assert.deepEqual(readdirSync(home).sort(), ['hello.txt', 'sub']);
  assert.equal(readFileSync(path.join(home, 'sub', 'deep.txt'), 'utf8'), 'deep');
  // Never overwritten later.
  writeFileSync(path.join(home, 'hello.txt'), 'mine');
  assert.equal(await ensureUserhome(config, { credential: 'hub', service: 'lab', userId: 8 }), false);
  assert.equal(readFileSync(path.join(home, 'hello.txt'), 'utf8'), 'mine');
});
