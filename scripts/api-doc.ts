// Writes docs/api.md from the route schemas (npm run docs:api).
import { writeFileSync } from 'node:fs';
import { openApiDocument, renderApiMarkdown } from '../src/http/openapi.js';

writeFileSync('docs/api.md', renderApiMarkdown(await openApiDocument()));
console.log('wrote docs/api.md');
