// The scenarios of issue #16. soak: N live services (5,000), polls at a steady
// rate (200/s) for M minutes (60), and per minute the manager's RSS, the poll
// latencies, and the LIST and WATCH requests that reached the apiserver
// (apiserver_request_total, and the manager's own k8smgr_kube_requests_total):
// after the first lists there should be no LIST, and RSS should stop growing.
// scale: N services (20,000): time to ready, RSS, poll latencies.
// The manager talks to the apiserver directly (TLS, as in production).
import https from 'node:https';
import http from 'node:http';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as k8s from '@kubernetes/client-node';
import { runLoad, type LoadResult } from './load.js';
import { populate, servername } from './populate.js';
import { CREDENTIAL, INSTANCE, openSession } from './session.js';
import type { BenchManager } from './manager.js';

export interface SoakOptions {
  services: number;
  minutes: number;
  /** Polls per second (all services in turn). */
  rate: number;
  connections: number;
  logDir: string;
  log: (line: string) => void;
  /** Whether the apiserver serves only this bench (its own control plane): then its counts are the manager's alone. */
  ownControlPlane: boolean;
}

export interface RequestCounts {
  list: number;
  watch: number;
  /** LIST requests by resource. */
  listByResource: Record<string, number>;
}

export interface SoakMinute {
  minute: number;
  rssMiB: number;
  /** V8 heap reserved and live (after a full GC the probe forces once a minute, after RSS was read), external memory. */
  heapTotalMiB: number | null;
  liveHeapMiB: number | null;
  externalMiB: number | null;
  polls: number;
  pollsPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
  errors: number;
  /** Requests that reached the apiserver in this minute (apiserver_request_total; on a shared control plane other clients' too). */
  apiserver: RequestCounts;
  /** Requests the manager sent in this minute (its k8smgr_kube_requests_total; list counts pages). */
  manager: { list: number; watch: number };
  loadAverage: number;
}

export interface SoakFigures {
  services: number;
  minutes: number;
  rate: number;
  populateSeconds: number;
  managerReadyMs: number;
  apiserverScope: string;
  /** From the manager's spawn until it was ready (the initial lists). */
  startup: { apiserver: RequestCounts; manager: { list: number; watch: number } };
  perMinute: SoakMinute[];
  /** After the initial lists, over the whole run. */
  totals: { apiserver: RequestCounts; manager: { list: number; watch: number }; watchEnds: Record<string, number> };
  /** RSS from minute 10 (or the middle of a shorter run) to the end. */
  rss: { fromMinute: number; minMiB: number; maxMiB: number; lastMiB: number; growthMiB: number };
}

export interface ScaleFigures {
  services: number;
  populateSeconds: number;
  managerReadyMs: number;
  rssReadyMiB: number;
  peakRssMiB: number;
  liveHeapMiB: number | null;
  rssAfterLoadMiB: number;
  paced: { rate: number; polls: number; latencyMs: LoadResult['latencyMs']; errors: number };
  startup: { apiserver: RequestCounts; manager: { list: number; watch: number } };
}

const MiB = (kib: number) => Math.round((kib / 1024) * 10) / 10;
const mib = (bytes: number | undefined) => (bytes === undefined ? null : Math.round((bytes / 1048576) * 10) / 10);
const RESOURCES = new Set(['configmaps', 'pods', 'events', 'secrets', 'services', 'leases']);

/** One Prometheus text exposition, as name{labels} -> value. */
async function scrape(url: string, options: https.RequestOptions = {}): Promise<Array<{ name: string; labels: Record<string, string>; value: number }>> {
  const text = await new Promise<string>((resolve, reject) => {
    const lib = url.startsWith('https:') ? https : http;
    const req = lib.get(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET ${url}: ${res.statusCode} ${body.slice(0, 200)}`))));
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error(`GET ${url}: no answer`)));
  });
  const out: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || line.startsWith('#')) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** LIST and WATCH requests the apiserver has served so far (of the kinds the manager watches). */
async function apiserverCounts(kc: k8s.KubeConfig): Promise<RequestCounts> {
  const options: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(options);
  const server = kc.getCurrentCluster()?.server ?? '';
  const samples = await scrape(`${server}/metrics`, options);
  const counts: RequestCounts = { list: 0, watch: 0, listByResource: {} };
  for (const s of samples) {
    if (s.name !== 'apiserver_request_total' || !RESOURCES.has(s.labels.resource ?? '') || s.labels.subresource) continue;
    if (s.labels.verb === 'LIST') {
      counts.list += s.value;
      counts.listByResource[s.labels.resource!] = (counts.listByResource[s.labels.resource!] ?? 0) + s.value;
    } else if (s.labels.verb === 'WATCH') counts.watch += s.value;
  }
  return counts;
}

async function managerCounts(m: BenchManager): Promise<{ list: number; watch: number; watchEnds: Record<string, number> }> {
  const samples = await scrape(`${m.url}/metrics`);
  const out = { list: 0, watch: 0, watchEnds: {} as Record<string, number> };
  for (const s of samples) {
    if (s.name === 'k8smgr_kube_requests_total' && s.labels.verb === 'list') out.list += s.value;
    if (s.name === 'k8smgr_kube_requests_total' && s.labels.verb === 'watch') out.watch += s.value;
    if (s.name === 'k8smgr_watch_restarts_total') out.watchEnds[s.labels.reason ?? '?'] = (out.watchEnds[s.labels.reason ?? '?'] ?? 0) + s.value;
  }
  return out;
}

const diff = (a: RequestCounts, b: RequestCounts): RequestCounts => {
  const listByResource: Record<string, number> = {};
  for (const [k, v] of Object.entries(b.listByResource)) if (v - (a.listByResource[k] ?? 0) > 0) listByResource[k] = v - (a.listByResource[k] ?? 0);
  return { list: b.list - a.list, watch: b.watch - a.watch, listByResource };
};

async function populated(opts: { services: number; logDir: string; log: (l: string) => void }, label: string) {
  const s = await openSession(label, { logDir: opts.logDir });
  opts.log(`populating ${opts.services} services`);
  const { seconds } = await populate(s.bc, { instance: INSTANCE, credential: CREDENTIAL, from: 0, to: opts.services, timeoutMs: Math.max(300_000, opts.services * 60) });
  return { s, populateSeconds: seconds };
}

export async function soak(opts: SoakOptions): Promise<SoakFigures> {
  const { s, populateSeconds } = await populated(opts, 'soak');
  try {
    const before = await apiserverCounts(s.bc.kc);
    opts.log(`manager with ${opts.services} services`);
    const m = await s.startManager('soak', { direct: true, readyTimeoutMs: Math.max(180_000, opts.services * 30) });
    try {
      const ready = await apiserverCounts(s.bc.kc);
      const readyManager = await managerCounts(m);
      const paths = Array.from({ length: Math.max(opts.services, 1) }, (_, i) => `/api/services/${servername(i)}/`);
      const perMinute: SoakMinute[] = [];
      let prev = { apiserver: ready, manager: readyManager };
      for (let minute = 1; minute <= opts.minutes; minute++) {
        const load = await runLoad({ url: m.url, paths, headers: { authorization: s.auth }, connections: opts.connections, durationSeconds: 60, rate: opts.rate });
        const rssMiB = MiB(m.rss().rssKiB);
        const memory = await m.memoryUsage();
        const now = { apiserver: await apiserverCounts(s.bc.kc), manager: await managerCounts(m) };
        const row: SoakMinute = {
          minute,
          rssMiB,
          heapTotalMiB: mib(memory?.before.heapTotal),
          liveHeapMiB: mib(memory?.after.heapUsed),
          externalMiB: mib(memory?.before.external),
          polls: load.requests,
          pollsPerSecond: load.perSecond,
          latencyMs: { p50: load.latencyMs.p50, p99: load.latencyMs.p99, max: load.latencyMs.max },
          errors: load.errors + load.timeouts + load.non2xx,
          apiserver: diff(prev.apiserver, now.apiserver),
          manager: { list: now.manager.list - prev.manager.list, watch: now.manager.watch - prev.manager.watch },
          loadAverage: Math.round(loadavg()[0]! * 10) / 10,
        };
        perMinute.push(row);
        opts.log(`  minute ${minute}: RSS ${row.rssMiB} MiB (heap ${row.heapTotalMiB}, live ${row.liveHeapMiB}, external ${row.externalMiB}), ${row.polls} polls, p99 ${row.latencyMs.p99} ms, apiserver LIST ${row.apiserver.list} WATCH ${row.apiserver.watch}, manager list ${row.manager.list} watch ${row.manager.watch}`);
        prev = now;
      }
      const end = { apiserver: prev.apiserver, manager: await managerCounts(m) };
      const from = Math.min(10, Math.max(1, Math.ceil(opts.minutes / 2)));
      const tail = perMinute.filter((r) => r.minute >= from).map((r) => r.rssMiB);
      return {
        services: opts.services,
        minutes: opts.minutes,
        rate: opts.rate,
        populateSeconds,
        managerReadyMs: m.readyMs,
        apiserverScope: opts.ownControlPlane ? 'a control plane of its own (only this bench, the controller-manager, scheduler and kwok talk to it)' : 'the shared test control plane (other clients\' requests included)',
        startup: { apiserver: diff(before, ready), manager: { list: readyManager.list, watch: readyManager.watch } },
        perMinute,
        totals: {
          apiserver: diff(ready, end.apiserver),
          manager: { list: end.manager.list - readyManager.list, watch: end.manager.watch - readyManager.watch },
          watchEnds: end.manager.watchEnds,
        },
        rss: {
          fromMinute: from,
          minMiB: Math.min(...tail),
          maxMiB: Math.max(...tail),
          lastMiB: tail[tail.length - 1] ?? NaN,
          growthMiB: Math.round(((tail[tail.length - 1] ?? NaN) - (tail[0] ?? NaN)) * 10) / 10,
        },
      };
    } finally {
      await m.stop();
    }
  } finally {
    await s.close();
  }
}

export async function scale(opts: { services: number; rate: number; connections: number; durationSeconds: number; warmupSeconds: number; logDir: string; log: (line: string) => void }): Promise<ScaleFigures> {
  const { s, populateSeconds } = await populated(opts, 'scale');
  try {
    const before = await apiserverCounts(s.bc.kc);
    opts.log(`manager with ${opts.services} services`);
    const m = await s.startManager('scale', { direct: true, readyTimeoutMs: Math.max(180_000, opts.services * 30) });
    try {
      const ready = await apiserverCounts(s.bc.kc);
      const readyManager = await managerCounts(m);
      await sleep(opts.warmupSeconds * 1000);
      const rssReady = m.rss();
      const memory = await m.memoryUsage();
      const paths = Array.from({ length: opts.services }, (_, i) => `/api/services/${servername(i)}/`);
      opts.log(`  warm-up ${opts.warmupSeconds} s, then paced ${opts.rate}/s for ${opts.durationSeconds} s`);
      await runLoad({ url: m.url, paths, headers: { authorization: s.auth }, connections: opts.connections, durationSeconds: opts.warmupSeconds, rate: opts.rate });
      const load = await runLoad({ url: m.url, paths, headers: { authorization: s.auth }, connections: opts.connections, durationSeconds: opts.durationSeconds, rate: opts.rate });
      const after = m.rss();
      return {
        services: opts.services,
        populateSeconds,
        managerReadyMs: m.readyMs,
        rssReadyMiB: MiB(rssReady.rssKiB),
        peakRssMiB: MiB(after.hwmKiB),
        liveHeapMiB: mib(memory?.after.heapUsed),
        rssAfterLoadMiB: MiB(after.rssKiB),
        paced: { rate: opts.rate, polls: load.requests, latencyMs: load.latencyMs, errors: load.errors + load.timeouts + load.non2xx },
        startup: { apiserver: diff(before, ready), manager: { list: readyManager.list, watch: readyManager.watch } },
      };
    } finally {
      await m.stop();
    }
  } finally {
    await s.close();
  }
}
