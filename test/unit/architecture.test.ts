// The layers of src/ (docs/architecture.md, "Layers"): a room imports only
// rooms of a lower layer, or of its own layer without a loop between folders.
// Read from the import/export-from lines of every file, no build needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** Higher may import lower. src/errors.ts (no room) is neutral: anyone may import it, it imports no room. */
export const LAYERS: Readonly<Record<string, number>> = {
  cli: 4,
  http: 3,
  admin: 3,
  services: 2,
  userjobs: 2,
  logging: 2,
  auth: 2,
  notify: 2,
  flavors: 2,
  outpost: 2,
  kube: 1,
  templates: 1,
  status: 1,
  config: 1,
};
const NEUTRAL = 0;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative specifiers of `import … from`, `export … from`, `import '…'` and `import('…')`. */
export function importsOf(text: string): string[] {
  const specs: string[] = [];
  const re = /^\s*(?:import|export)\s+(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (const m of text.matchAll(re)) {
    const spec = m[1] ?? m[2];
    if (spec?.startsWith('.')) specs.push(spec);
  }
  return specs;
}

/** The room of a path under src/: its first folder, or '' for a file at the top (neutral). */
function roomOf(pathUnderSrc: string): string {
  const parts = pathUnderSrc.split(sep);
  return parts.length > 1 ? (parts[0] as string) : '';
}

interface Edge {
  from: string;
  to: string;
  file: string;
  spec: string;
}

function edges(): Edge[] {
  const out: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    const fromRoom = roomOf(relative(SRC, file));
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const target = relative(SRC, resolve(dirname(file), spec));
      if (target.startsWith('..')) continue;
      const toRoom = roomOf(target);
      if (toRoom !== fromRoom) out.push({ from: fromRoom, to: toRoom, file: relative(SRC, file), spec });
    }
  }
  return out;
}

const layerOf = (room: string) => (room === '' ? NEUTRAL : LAYERS[room]);

test('the import reader sees every form of import', () => {
  const text = [
    "import { a } from './a.js';",
    "import type { B } from '../b/b.js';",
    "export { c } from './c.js';",
    "export * from '../d/index.js';",
    "import './side.js';",
    'import {',
    '  e,',
    "} from '../e/e.js';",
    "const f = await import('../f/f.js');",
    "import fastify from 'fastify';",
    "export const notAnImport = './g.js';",
  ].join('\n');
  assert.deepEqual(importsOf(text), ['./a.js', '../b/b.js', './c.js', '../d/index.js', './side.js', '../e/e.js', '../f/f.js']);
});

test('every room of src/ has a layer', () => {
  const rooms = readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  const unknown = rooms.filter((room) => LAYERS[room] === undefined);
  assert.deepEqual(unknown, [], 'new folders under src/: give them a layer here and in docs/architecture.md');
});

test('no room imports a room of a higher layer', () => {
  const up = edges().filter((e) => (layerOf(e.to) ?? Infinity) > (layerOf(e.from) ?? -Infinity));
  assert.deepEqual(up.map((e) => `${e.file} imports ${e.spec} (${e.from || 'src/'} may not import ${e.to || 'src/'})`), []);
});

test('no loop between folders', () => {
  const graph = new Map<string, Set<string>>();
  for (const e of edges()) {
    if (!graph.has(e.from)) graph.set(e.from, new Set());
    graph.get(e.from)?.add(e.to);
  }
  const loops: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (room: string, path: string[]) => {
    if (state.get(room) === 'done') return;
    if (state.get(room) === 'open') {
      loops.push([...path.slice(path.indexOf(room)), room].join(' -> '));
      return;
    }
    state.set(room, 'open');
    for (const next of graph.get(room) ?? []) visit(next, [...path, room]);
    state.set(room, 'done');
  };
  for (const room of graph.keys()) visit(room, []);
  assert.deepEqual(loops, []);
});
