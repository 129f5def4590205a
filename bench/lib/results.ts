// Results: the JSON document, the targets of issue #10 checked against it, the
// printed table, and the generated table in docs/performance.md.
import { cpus, totalmem } from 'node:os';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { AuthFigures, MemoryFigures, PollFigures, StormFigures } from './scenarios.js';
import type { ScaleFigures, SoakFigures } from './soak.js';

export interface Target {
  name: string;
  target: string;
  value: string;
  met: boolean | null;
}

export interface BenchResults {
  scenario: string;
  date: string;
  startedAt: string;
  finishedAt: string;
  machine: { cores: number; cpu: string; memoryGiB: number; node: string; note: string };
  runtime: string;
  options: Record<string, unknown>;
  poll: PollFigures[];
  startStorm: StormFigures[];
  memory: MemoryFigures[];
  auth: AuthFigures[];
  soak: SoakFigures | null;
  scale: ScaleFigures | null;
  targets: Target[];
  profiles: Array<{ file: string; top: Array<{ function: string; where: string; selfPercent: number }> }>;
}

export function machine(): BenchResults['machine'] {
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    note: 'control plane (etcd, apiserver, controller-manager, scheduler, kwok), manager, load generator and other engineers\' test runs share these cores',
  };
}

/** MiB (what /proc says) under a target in MB (10^6 bytes). */
const underMB = (mib: number, mb: number) => mib * 1.048576 < mb;

export function checkTargets(r: Pick<BenchResults, 'poll' | 'startStorm' | 'memory'> & Partial<Pick<BenchResults, 'soak' | 'scale'>> & { options?: Record<string, unknown> }): Target[] {
  const targets: Target[] = [];
  const polls = r.poll;
  if (polls.length) {
    const perPoll = Math.max(...polls.flatMap((p) => [p.saturated, p.paced, p.outpostSaturated, p.outpostPaced].flatMap((run) => (run ? [run.apiRequestsPerPoll] : []))));
    targets.push({ name: 'apiserver requests per poll', target: '0', value: String(perPoll), met: perPoll === 0 });
    const at1000 = polls.find((p) => p.services === 1000) ?? polls[polls.length - 1];
    if (at1000) {
      targets.push({
        name: `poll p99 at ${at1000.services} services (paced ${String(r.options?.pacedRate ?? '')}/s)`,
        target: '< 5 ms',
        value: `${at1000.paced.latencyMs.p99} ms (control /api/health/: ${at1000.pacedHealth.latencyMs.p99} ms)`,
        met: at1000.paced.latencyMs.p99 < 5,
      });
    }
    const best = Math.min(...polls.map((p) => p.saturated.perSecond));
    targets.push({ name: 'polls/s (lowest over the sizes)', target: '>= 5000', value: String(best), met: best >= 5000 });
    const errors = polls.reduce((a, p) => a + p.saturated.errors + p.saturated.non2xx + p.paced.errors + p.paced.non2xx + p.saturated.timeouts + p.paced.timeouts, 0);
    targets.push({ name: 'poll errors', target: '0', value: String(errors), met: errors === 0 });
  }
  const s100 = r.startStorm.find((s) => s.starts === 100) ?? r.startStorm[0];
  if (s100) targets.push({ name: `errors in ${s100.starts} concurrent starts`, target: '0', value: String(s100.start.errors), met: s100.start.errors === 0 });
  const m5000 = r.memory.find((m) => m.services === 5000) ?? r.memory[r.memory.length - 1];
  if (m5000) targets.push({ name: `RSS at ${m5000.services} services`, target: '< 150 MB', value: `${m5000.rssAfterLoadMiB ?? m5000.rssMiB} MiB`, met: underMB(m5000.rssAfterLoadMiB ?? m5000.rssMiB, 150) });
  if (r.soak) {
    const k = r.soak;
    const peak = Math.max(...k.perMinute.map((m) => m.rssMiB));
    targets.push({ name: `RSS at ${k.services} services over ${k.minutes} min (highest minute)`, target: '< 150 MB', value: `${peak} MiB`, met: underMB(peak, 150) });
    targets.push({ name: `RSS plateau (minute ${k.rss.fromMinute} to ${k.minutes})`, target: 'no growth', value: `${k.rss.minMiB}-${k.rss.maxMiB} MiB, last - first ${k.rss.growthMiB} MiB`, met: k.minutes >= 20 ? k.rss.growthMiB <= 5 : null });
    targets.push({ name: 'LIST requests after the initial lists (manager)', target: '0', value: String(k.totals.manager.list), met: k.totals.manager.list === 0 });
    targets.push({ name: `LIST requests after the initial lists (apiserver_request_total, ${k.apiserverScope.startsWith('a control plane') ? 'own control plane' : 'shared: other clients included'})`, target: '0', value: String(k.totals.apiserver.list), met: k.apiserverScope.startsWith('a control plane') ? k.totals.apiserver.list === 0 : null });
    const worst = Math.max(...k.perMinute.map((m) => m.latencyMs.p99));
    targets.push({ name: `poll p99 at ${k.rate}/s (worst minute)`, target: '< 5 ms', value: `${worst} ms`, met: worst < 5 });
  }
  if (r.scale) {
    const c = r.scale;
    targets.push({ name: `RSS at ${c.services} services (after a poll load)`, target: '< 250 MB', value: `${c.rssAfterLoadMiB} MiB (peak ${c.peakRssMiB})`, met: underMB(Math.max(c.rssAfterLoadMiB, c.rssReadyMiB), 250) });
  }
  return targets;
}

function table(head: string[], rows: Array<Array<string | number | null>>): string {
  const cells = [head, ...rows.map((r) => r.map((c) => (c === null ? '-' : String(c))))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(cells[0] ?? []), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...cells.slice(1).map(line)].join('\n');
}

/** The tables, as Markdown (printed as they are, and pasted into docs/performance.md). */
export function renderTables(r: BenchResults): string {
  const out: string[] = [];
  out.push(`Date ${r.date}; ${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.memoryGiB} GiB; Node ${r.machine.node}; manager run from ${r.runtime}; scenario \`${r.scenario}\`.`);
  if (r.poll.length) {
    out.push('', '**Poll** (GET /api/services/<name>/ cycling over all services, then the same services through the Outpost API, GET /outpost/services/<name>/<start_id>; Basic auth; autocannon in its own process)', '');
    out.push(table(
      ['services', 'manager ready', 'load', 'polls/s', 'p50 ms', 'p99 ms', 'max ms', 'errors', 'apiserver req/polls', 'manager CPU µs/poll', 'manager cores', 'load avg'],
      r.poll.flatMap((p) => [
        [p.services, `${(p.managerReadyMs / 1000).toFixed(1)} s`, `${r.options.connections} conn., max`, p.saturated.perSecond, p.saturated.latencyMs.p50, p.saturated.latencyMs.p99, p.saturated.latencyMs.max, p.saturated.errors + p.saturated.timeouts + p.saturated.non2xx, `${p.saturated.apiRequests}/${p.saturated.requests}`, p.saturated.managerCpuUsPerPoll, p.saturated.managerCpuCores, p.saturated.loadAverage],
        ['', '', `paced ${r.options.pacedRate}/s`, p.paced.perSecond, p.paced.latencyMs.p50, p.paced.latencyMs.p99, p.paced.latencyMs.max, p.paced.errors + p.paced.timeouts + p.paced.non2xx, `${p.paced.apiRequests}/${p.paced.requests}`, p.paced.managerCpuUsPerPoll, p.paced.managerCpuCores, p.paced.loadAverage],
        ...[['Outpost API: max', p.outpostSaturated], [`Outpost API: paced ${r.options.pacedRate}/s`, p.outpostPaced]].flatMap(([label, f]) => {
          const run = f as typeof p.paced | undefined;
          return run ? [['', '', label as string, run.perSecond, run.latencyMs.p50, run.latencyMs.p99, run.latencyMs.max, run.errors + run.timeouts + run.non2xx, `${run.apiRequests}/${run.requests}`, run.managerCpuUsPerPoll, run.managerCpuCores, run.loadAverage]] : [];
        }),
        ['', '', `control: /api/health/ paced`, p.pacedHealth.perSecond, p.pacedHealth.latencyMs.p50, p.pacedHealth.latencyMs.p99, p.pacedHealth.latencyMs.max, p.pacedHealth.errors + p.pacedHealth.timeouts + p.pacedHealth.non2xx, `${p.pacedHealth.apiRequests}/${p.pacedHealth.requests}`, p.pacedHealth.managerCpuUsPerPoll, p.pacedHealth.managerCpuCores, p.pacedHealth.loadAverage],
      ]),
    ));
  }
  if (r.startStorm.length) {
    out.push('', '**Start storm** (all POSTs at once; times from the first POST) and **stop storm** (all DELETEs at once)', '');
    out.push(table(
      ['starts', 'errors', 'POST->2xx p50/p99', 'pod Running p50/p99', '`running` p50/p99', 'all running', 'apiserver req/start', 'stop errors', 'DELETE->204 p50/p99', 'no object left', 'apiserver req/stop'],
      r.startStorm.map((s) => [
        s.starts, s.start.errors,
        `${s.start.postMs.p50} / ${s.start.postMs.p99} ms`, `${s.start.podRunningMs.p50} / ${s.start.podRunningMs.p99} ms`, `${s.start.managerRunningMs.p50} / ${s.start.managerRunningMs.p99} ms`,
        `${s.start.allRunningSeconds.toFixed(1)} s`, s.start.apiRequestsPerStart,
        s.stop.errors, `${s.stop.deleteMs.p50} / ${s.stop.deleteMs.p99} ms`, `${s.stop.goneSeconds.toFixed(1)} s`, s.stop.apiRequestsPerStop,
      ]),
    ));
  }
  if (r.startStorm.length) {
    out.push('', 'Where a start\'s time goes: the same API calls from a bare client (no manager), and the cluster\'s own stages (object timestamps, 1 s resolution), p50 / p99', '');
    out.push(table(
      ['starts', 'manager POST->2xx', 'bare client, same calls', 'Deployment->ReplicaSet', 'ReplicaSet->Pod', 'Pod->scheduled', 'scheduled->Ready'],
      r.startStorm.map((s) => {
        const c = s.start.clusterStagesMs;
        const f = (m: { p50: number; p99: number }) => `${m.p50} / ${m.p99} ms`;
        return [s.starts, f(s.start.postMs), f(s.start.bareApiMs), f(c.deploymentToReplicaSet), f(c.replicaSetToPod), f(c.podToScheduled), f(c.scheduledToReady)];
      }),
    ));
  }
  if (r.memory.length) {
    out.push('', '**Memory** of the manager process (RSS: VmRSS from /proc; heap: process.memoryUsage() through a preloaded probe, as found and after a full GC it forces)', '');
    out.push(table(
      ['services', 'RSS MiB', 'RSS after poll load MiB', 'peak RSS MiB', 'heap used MiB', 'heap total MiB', 'live heap after GC MiB', 'RSS after GC MiB', 'external MiB'],
      r.memory.map((m) => [m.services, m.rssMiB, m.rssAfterLoadMiB, m.peakRssMiB, m.heapUsedMiB, m.heapTotalMiB, m.liveHeapMiB, m.rssAfterGcMiB, m.externalMiB]),
    ));
  }
  if (r.auth.length) {
    out.push('', `**Auth** (saturating poll load, ${r.options.connections} connections, ${r.auth[0]?.services} services)`, '');
    out.push(table(['scheme', 'polls/s', 'p50 ms', 'p99 ms', 'errors'], r.auth.map((a) => [a.scheme, a.perSecond, a.latencyMs.p50, a.latencyMs.p99, a.errors + a.non2xx])));
  }
  if (r.soak) {
    const k = r.soak;
    out.push('', `**Soak** (${k.services} services, polls at ${k.rate}/s for ${k.minutes} min; manager ready after ${(k.managerReadyMs / 1000).toFixed(1)} s; apiserver counts from ${k.apiserverScope})`, '');
    out.push(`Start-up (spawn to ready): apiserver LIST ${k.startup.apiserver.list} (${Object.entries(k.startup.apiserver.listByResource).map(([a, b]) => `${a} ${b}`).join(', ')}), WATCH ${k.startup.apiserver.watch}; manager list requests (pages) ${k.startup.manager.list}, watches ${k.startup.manager.watch}.`);
    out.push(`After it, over the run: apiserver LIST ${k.totals.apiserver.list}${Object.keys(k.totals.apiserver.listByResource).length ? ` (${Object.entries(k.totals.apiserver.listByResource).map(([a, b]) => `${a} ${b}`).join(', ')})` : ''}, WATCH ${k.totals.apiserver.watch}; manager list ${k.totals.manager.list}, watch ${k.totals.manager.watch}; watch ends by reason ${JSON.stringify(k.totals.watchEnds)}.`, '');
    out.push(table(
      ['minute', 'RSS MiB', 'heap MiB', 'live heap MiB', 'polls', 'p50 ms', 'p99 ms', 'max ms', 'errors', 'apiserver LIST', 'apiserver WATCH', 'manager list', 'manager watch', 'load avg'],
      k.perMinute.map((m) => [m.minute, m.rssMiB, m.heapTotalMiB, m.liveHeapMiB, m.polls, m.latencyMs.p50, m.latencyMs.p99, m.latencyMs.max, m.errors, m.apiserver.list, m.apiserver.watch, m.manager.list, m.manager.watch, m.loadAverage]),
    ));
  }
  if (r.scale) {
    const c = r.scale;
    out.push('', `**Scale** (${c.services} services)`, '');
    out.push(table(
      ['services', 'populate', 'manager ready', 'RSS ready MiB', 'live heap MiB', `paced ${c.paced.rate}/s p50 / p99 / max ms`, 'errors', 'RSS after load MiB', 'peak RSS MiB', 'start-up LIST (apiserver / manager pages)'],
      [[c.services, `${c.populateSeconds.toFixed(0)} s`, `${(c.managerReadyMs / 1000).toFixed(1)} s`, c.rssReadyMiB, c.liveHeapMiB, `${c.paced.latencyMs.p50} / ${c.paced.latencyMs.p99} / ${c.paced.latencyMs.max}`, c.paced.errors, c.rssAfterLoadMiB, c.peakRssMiB, `${c.startup.apiserver.list} / ${c.startup.manager.list}`]],
    ));
  }
  if (r.targets.length) {
    out.push('', r.soak || r.scale ? '**Targets of issue #16**' : '**Targets of issue #10**', '');
    out.push(table(['figure', 'target', 'measured', 'met'], r.targets.map((t) => [t.name, t.target, t.value, t.met === null ? '-' : t.met ? 'yes' : 'NO'])));
  }
  return out.join('\n');
}

export const DOC_START = '<!-- bench:results:start (generated by `npm run bench -- all`) -->';
export const DOC_END = '<!-- bench:results:end -->';

/** Replaces the generated part of docs/performance.md (between the markers) with these tables. */
export function updateDoc(file: string, r: BenchResults, jsonPath: string): boolean {
  if (!existsSync(file)) return false;
  const text = readFileSync(file, 'utf8');
  const a = text.indexOf(DOC_START);
  const b = text.indexOf(DOC_END);
  if (a < 0 || b < a) return false;
  const body = `${DOC_START}\n${renderTables(r)}\n\nRaw figures: \`${jsonPath}\`.\n${DOC_END}`;
  writeFileSync(file, text.slice(0, a) + body + text.slice(b + DOC_END.length));
  return true;
}
