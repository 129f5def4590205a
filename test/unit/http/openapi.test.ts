import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { openApiDocument, renderApiMarkdown } from '../../../src/http/openapi.js';

test('the OpenAPI document covers every route of the API', async () => {
  const doc = await openApiDocument();
  const paths = Object.keys(doc.paths as object);
  for (const path of ['/api/services/', '/api/services/{servername}/', '/api/logs/handler/', '/api/logs/handler/{type}/', '/api/logs/logtest/', '/api/userjobs/', '/api/health/']) {
    assert.ok(paths.includes(path), `${path} in ${paths.join(', ')}`);
  }
  const poll = (doc.paths as any)['/api/services/{servername}/'].get;
  assert.deepEqual(Object.keys(poll.responses['200'].content['application/json'].schema.properties).sort(), ['details', 'running', 'state']);
});

test('docs/api.md is generated from the schemas (run `npm run docs:api` after changing them)', async () => {
  const expected = renderApiMarkdown(await openApiDocument());
  assert.equal(readFileSync('docs/api.md', 'utf8'), expected);
});
