// The load generator, run as a process of its own (so that its CPU is not the
// bench's nor the manager's): autocannon against one manager, GETs cycling over
// the given paths, closed loop with a fixed number of connections or paced at
// a fixed rate. Latencies are taken from autocannon's `response` event at
// sub-millisecond resolution (its own histogram has 1 ms steps). Prints one JSON
// line: LoadResult.
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

export interface LoadSpec {
  url: string;
  paths: string[];
  headers: Record<string, string>;
  connections: number;
  durationSeconds: number;
  /** Requests per second over all connections; unset = as fast as answered. */
  rate?: number;
}

export interface LoadResult {
  requests: number;
  durationSeconds: number;
  perSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  let next = 0;
  let samples = new Float64Array(1 << 16);
  let n = 0;
  const statusCodes: Record<string, number> = {};
  const options: autocannon.Options = {
    url: spec.url,
    connections: spec.connections,
    duration: spec.durationSeconds,
    headers: spec.headers,
    timeout: 10,
    ...(spec.rate ? { overallRate: spec.rate } : {}),
    requests: [
      {
        method: 'GET',
        setupRequest: (request) => {
          request.path = spec.paths[next++ % spec.paths.length] ?? '/';
          return request;
        },
      },
    ],
  };
  const onResponse = (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    if (n === samples.length) {
      const bigger = new Float64Array(samples.length * 2);
      bigger.set(samples);
      samples = bigger;
    }
    samples[n++] = responseTime;
    statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
  };
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (err: unknown, res: autocannon.Result) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(res)));
    instance.on('response', onResponse);
  });
  const sorted = samples.subarray(0, n).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const round = (v: number) => Math.round(v * 1000) / 1000;
  const durationSeconds = result.duration;
  return {
    requests: n,
    durationSeconds,
    perSecond: Math.round(n / durationSeconds),
    latencyMs: {
      p50: round(percentile(sorted, 50)),
      p90: round(percentile(sorted, 90)),
      p99: round(percentile(sorted, 99)),
      max: round(n ? (sorted[n - 1] as number) : NaN),
      mean: round(n ? sum / n : NaN),
    },
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCodes,
  };
}

// The spec comes in a file (5,000 paths are too long for an environment variable).
const input = process.env.K8SMGR_BENCH_LOAD_FILE;
if (input) {
  run(JSON.parse(readFileSync(input, 'utf8')) as LoadSpec).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
