// npm run bench -- <scenario> [options]
//   scenarios: poll | start-storm | stop-storm | memory | auth | all | soak | scale
//   --smoke             tiny sizes, seconds (what test/integration/bench-smoke.test.ts runs)
//   --sizes 100,1000    services of the poll pass (poll/memory/auth)
//   --memory 0,1000     services of the memory figures (default: --sizes)
//   --storms 100,300    starts per storm
//   --duration 10       seconds per load run
//   --connections 16    connections of the saturating load
//   --rate 1000         polls/s of the paced load
//   --direct            storms without the counting proxy (manager -> apiserver over TLS)
//   --profile           run the manager with --cpu-prof; top functions go into the JSON
//   --out DIR           results directory (default bench/results)
//   --services N        soak (default 5000) / scale (default 20000): services
//   --minutes M         soak: minutes of polling (default 60)
//   --rate R            soak: polls/s (default 200); scale: polls/s of the paced load (default 1000)
//   --own-control-plane run on a second control plane of its own (taken down after), so that the
//                       apiserver's request counts are the manager's alone
// Starts the test control plane (testenv/cluster.ts up), runs the manager as a
// child process behind a counting proxy, prints the tables and writes
// bench/results/<date>.json (`all`) or <date>-<scenario>.json; `all` at full
// size also rewrites the generated tables of docs/performance.md. Manager logs
// and CPU profiles go to $TMPDIR/k8smgr-bench/<time>/.
import { parseArgs } from 'node:util';
import { runBench, SCENARIOS, type Scenario } from './lib/bench.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    smoke: { type: 'boolean' },
    sizes: { type: 'string' },
    memory: { type: 'string' },
    storms: { type: 'string' },
    duration: { type: 'string' },
    connections: { type: 'string' },
    rate: { type: 'string' },
    profile: { type: 'boolean' },
    direct: { type: 'boolean' },
    out: { type: 'string' },
    'no-docs': { type: 'boolean' },
    services: { type: 'string' },
    minutes: { type: 'string' },
    'own-control-plane': { type: 'boolean' },
  },
});

const scenario = positionals[0] as Scenario | undefined;
if (!scenario || !SCENARIOS.includes(scenario)) {
  console.error(`usage: npm run bench -- <${SCENARIOS.join('|')}> [--smoke] [--sizes 100,1000] [--storms 100] [--duration S] [--connections N] [--rate R] [--profile] [--out DIR] [--services N] [--minutes M] [--own-control-plane]`);
  process.exit(2);
}
const list = (v: string | undefined) => v?.split(',').map((x) => Number(x.trim())).filter((x) => Number.isFinite(x));
const sizes = {
  ...(values.sizes ? { pollSizes: list(values.sizes) ?? [], memorySizes: list(values.memory ?? values.sizes) ?? [], authSize: Math.max(...(list(values.sizes) ?? [0])) } : {}),
  ...(values.storms ? { stormSizes: list(values.storms) ?? [] } : {}),
  ...(values.duration ? { durationSeconds: Number(values.duration) } : {}),
  ...(values.connections ? { connections: Number(values.connections) } : {}),
  ...(values.rate ? { pacedRate: Number(values.rate) } : {}),
  ...(values.direct ? { direct: true } : {}),
};

const started = Date.now();
runBench({
  scenario,
  smoke: values.smoke === true,
  profile: values.profile === true,
  ...(Object.keys(sizes).length ? { sizes } : {}),
  ...(values.out ? { outDir: values.out } : {}),
  ...(values['no-docs'] ? { updateDocs: false } : {}),
  soak: {
    ...(values.services ? { services: Number(values.services) } : {}),
    ...(values.minutes ? { minutes: Number(values.minutes) } : {}),
    ...(values.rate ? { rate: Number(values.rate) } : {}),
  },
  ...(values['own-control-plane'] ? { ownControlPlane: true } : {}),
}).then(
  ({ table, jsonPath, results }) => {
    console.log(`\n${table}\n`);
    for (const p of results.profiles) {
      console.log(`CPU profile ${p.file}, top self time:`);
      for (const t of p.top.slice(0, 10)) console.log(`  ${String(t.selfPercent).padStart(5)} %  ${t.function}  ${t.where}`);
    }
    console.log(`manager logs: ${String(results.options.logDir)}`);
    console.log(`results: ${jsonPath} (${Math.round((Date.now() - started) / 1000)} s)`);
    process.exit(0);
  },
  (err: unknown) => {
    console.error(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    process.exit(1);
  },
);
