// The OpenAPI document of the API, built from the route schemas without a
// cluster, and its rendering as docs/api.md (`npm run docs:api`; a unit test
// checks that docs/api.md matches).
import { buildApp, type App } from './app.js';
import { LogHub } from '../logging/hub.js';
import { createLogger } from '../logging/logger.js';

type Json = Record<string, unknown>;

const inert = () => {
  throw new Error('documentation app: not callable');
};

export async function openApiDocument(): Promise<Json> {
  const stub = new Proxy({}, { get: () => inert });
  const app: App = buildApp({
    logger: createLogger(new LogHub()),
    authenticator: { authenticate: async () => ({ ok: false, reason: 'missing' }) },
    services: stub as never,
    logs: stub as never,
    readiness: { check: () => ({ ready: false, details: {} }) },
    bodyLimitBytes: 1024,
    userjobs: stub as never,
    outpost: { api: stub as never, basePath: '/outpost', enabled: () => true },
  });
  await app.ready();
  const doc = app.swagger() as Json;
  await app.close();
  return doc;
}

const GROUP_OF_TAG: Record<string, string> = {
  services: 'access_to_webservice',
  userjobs: 'access_to_webservice',
  logs: 'access_to_logging',
  outpost: 'access_to_webservice (none for ping); answers in the JupyterHub Outpost\'s shapes (docs/outpost.md)',
  health: 'none (open)',
};

function schemaText(schema: unknown): string {
  return '```json\n' + JSON.stringify(schema, null, 2) + '\n```';
}

export function renderApiMarkdown(doc: Json): string {
  const lines: string[] = [
    '# REST API',
    '',
    '<!-- Generated from the route schemas by `npm run docs:api`; test/unit/http/openapi.test.ts checks it. Do not edit by hand. -->',
    '',
    'The machine-readable document is served at `GET /api/openapi.json` (OpenAPI 3).',
    'Authentication: HTTP Basic (`base64(credential:password)`) or a token (`token <t>` or `Bearer <t>`),',
    'in the `Authorization` header or the original\'s `Authentication` header (see docs/credentials.md).',
    'Missing or wrong credentials answer 401, a credential without the route\'s group 403, too many',
    'failed logins from one address 429. Paths work with and without the trailing slash, except those of the',
    'Outpost API (`/outpost/...`, docs/outpost.md), which answer exactly as a JupyterHub Outpost does.',
    '',
  ];
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Json>>;
  for (const [path, methods] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = ((op.tags as string[] | undefined) ?? [])[0] ?? '';
      lines.push(`## ${method.toUpperCase()} ${path}`, '', `${op.summary ?? ''}`, '', `Group: ${GROUP_OF_TAG[tag] ?? 'none'}`, '');
      const params = (op.parameters as Json[] | undefined) ?? [];
      if (params.length) {
        lines.push('Parameters:', '');
        for (const p of params) {
          const schema = p.schema as Json | undefined;
          lines.push(`- \`${p.name}\` (${p.in}${p.required ? ', required' : ''})${schema?.description ? `: ${schema.description}` : p.description ? `: ${p.description}` : ''}`);
        }
        lines.push('');
      }
      const body = (op.requestBody as Json | undefined)?.content as Record<string, Json> | undefined;
      if (body) lines.push('Request body:', '', schemaText(Object.values(body)[0]?.schema), '');
      const responses = (op.responses ?? {}) as Record<string, Json>;
      lines.push('Responses:', '');
      for (const [status, response] of Object.entries(responses)) {
        const content = response.content as Record<string, Json> | undefined;
        const schema = content ? Object.values(content)[0]?.schema as Json | undefined : undefined;
        const summary = schema ? (schema.description as string | undefined) ?? (schema.type === 'array' ? 'a JSON list' : 'JSON') : (response.description as string | undefined) ?? '';
        lines.push(`- **${status}**: ${summary}`);
      }
      const ok = Object.entries(responses).find(([status]) => status.startsWith('2'));
      const okSchema = ok ? Object.values((ok[1].content ?? {}) as Record<string, Json>)[0]?.schema : undefined;
      if (okSchema) lines.push('', `${ok?.[0]} body:`, '', schemaText(okSchema));
      lines.push('');
    }
  }
  return lines.join('\n');
}
