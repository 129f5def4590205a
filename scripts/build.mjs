// The production build (`npm run build`, the Dockerfile): src/cli/main.ts and
// everything it imports, libraries included, bundled by esbuild into ONE
// tree-shaken ES module, dist/bundle/k8smgr.js, with the admin page's static
// files beside it. Only the parts of the libraries the manager uses are loaded
// (importing @kubernetes/client-node whole costs 71 MiB RSS; what the bundle
// keeps of it, the KubeConfig and its authenticators, about 20 MiB: see
// docs/performance.md), and the image needs no node_modules at run time.
// bin/k8smgr.js runs the bundle when it is there.
//   node scripts/build.mjs [--out DIR] [--metafile]
import { build } from 'esbuild';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import process from 'node:process';
import console from 'node:console';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Bundles the manager into `outDir` (default dist/bundle). The folder sits two
 * levels below the root, as src/admin/ does, so that code finding files
 * relative to its module (package.json, the admin page) finds them alike.
 */
export async function bundle({ outDir = path.join(repoRoot, 'dist', 'bundle'), metafile = false } = {}) {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: [path.join(repoRoot, 'src', 'cli', 'main.ts')],
    outdir: outDir,
    entryNames: 'k8smgr',
    // The commands `render` and `user` are loaded on demand (import()): chunks of their own,
    // so that tree shaking still works (a dynamic import in one file would wrap every module it reaches).
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    treeShaking: true,
    minifySyntax: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    metafile,
    logLevel: 'warning',
    // Optional native speed-ups of ws, absent on purpose; `ws` falls back to JS.
    external: ['bufferutil', 'utf-8-validate'],
    plugins: [sideEffectFree(/^@kubernetes\/client-node$|[\\/]@kubernetes[\\/]client-node[\\/]/)],
    // CommonJS dependencies call require(); give the ES module one.
    banner: { js: "import { createRequire as __k8smgrCreateRequire } from 'node:module'; const require = __k8smgrCreateRequire(import.meta.url);" },
  });
  const staticDir = path.join(repoRoot, 'src', 'admin', 'static');
  if (existsSync(staticDir)) cpSync(staticDir, path.join(outDir, 'static'), { recursive: true });
  writeFileSync(path.join(outDir, 'package.json'), '{ "type": "module" }\n');
  if (metafile) writeFileSync(path.join(outDir, 'meta.json'), JSON.stringify(result.metafile));
  return path.join(outDir, 'k8smgr.js');
}

/**
 * Marks the modules of a package as free of side effects (what its
 * package.json does not say), so that modules none of whose exports are used
 * are left out: @kubernetes/client-node's index re-exports every generated API
 * class and model (ObjectSerializer's type map alone keeps ~2,000 classes).
 * The manager uses only KubeConfig and its authenticators, whose own code
 * (e.g. the list of authenticators) is kept, being used.
 */
function sideEffectFree(pattern) {
  return {
    name: 'side-effect-free',
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData === 'side-effect-free' || args.kind === 'entry-point') return undefined;
        const inPackage = pattern.test(args.importer) && (args.path.startsWith('.') || args.path.startsWith('/'));
        if (!pattern.test(args.path) && !inPackage) return undefined;
        const resolved = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'side-effect-free' });
        if (resolved.errors.length) return { errors: resolved.errors };
        return { ...resolved, sideEffects: false };
      });
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, metafile: { type: 'boolean' } } });
  const file = await bundle({ ...(values.out ? { outDir: path.resolve(values.out) } : {}), metafile: values.metafile === true });
  console.error(`built ${path.relative(process.cwd(), file)}`);
}
