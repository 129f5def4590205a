import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { validate, compileErrors } from '@readme/openapi-parser';
import { openApiDocument, renderApiMarkdown } from '../../../src/http/openapi.js';

test('the OpenAPI document is valid OpenAPI 3 (validated by an OpenAPI parser)', async () => {
  const doc = await openApiDocument();
  const result = await validate(structuredClone(doc) as never);
  assert.ok(result.valid, compileErrors(result));
});

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

test('a JSON content type with an empty body is no body; broken JSON and prototype poisoning are 400', async () => {
  const { buildApp } = await import('../../../src/http/app.js');
  const { LogHub } = await import('../../../src/logging/hub.js');
  const { createLogger } = await import('../../../src/logging/logger.js');
  const stopped: string[] = [];
  const app = buildApp({
    logger: createLogger(new LogHub()),
    authenticator: { authenticate: async () => ({ ok: true, principal: { credential: 'hub', groups: new Set(['access_to_webservice'] as const) } }) },
    services: { stop: async (_p: unknown, name: string) => void stopped.push(name) } as never,
    readiness: { check: () => ({ ready: true, details: {} }) },
    bodyLimitBytes: 4096,
  });
  const json = { 'content-type': 'application/json' };
  assert.equal((await app.inject({ method: 'DELETE', url: '/api/services/abc/', headers: json })).statusCode, 204);
  assert.deepEqual(stopped, ['abc']);
  assert.equal((await app.inject({ method: 'POST', url: '/api/services/', headers: json, payload: '{"env": ' })).statusCode, 400);
  assert.equal((await app.inject({ method: 'POST', url: '/api/services/', headers: json, payload: '{"__proto__": {"x": 1}}' })).statusCode, 400);
  await app.close();
});
