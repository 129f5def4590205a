// Prometheus metrics (prom-client): one registry per manager, instruments
// updated by hooks (HTTP, Kubernetes gateway, watches, starts) and gauges
// computed when scraped. Served at GET /metrics; nothing secret in it.
import client from 'prom-client';
import type { App } from './app.js';
import type { ServiceState } from '../services/types.js';

export interface MetricsSources {
  /** Services by state, computed at scrape time from the caches. */
  servicesByState?: () => Record<ServiceState | 'failed_cleaned_up', number>;
  /** Per service: seconds since this replica last answered a poll of it (since its start when never polled). */
  secondsSinceLastPoll?: () => Iterable<number>;
  userjobs?: () => number;
  logHandlerErrors?: () => number;
  configOk?: () => boolean;
  /** Per credential and flavor: running (reserved) services and the limit (-1 unlimited), from the flavor books' cache. */
  flavors?: () => Array<{ credential: string; flavor: string; running: number; limit: number }>;
  /** This replica's name and whether it holds the leader Lease. */
  leader?: () => { replica: string; process: string; leading: boolean };
}

export class Metrics {
  readonly registry = new client.Registry();
  readonly httpRequests = new client.Counter({
    name: 'k8smgr_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'] as const, registers: [this.registry],
  });
  readonly httpDuration = new client.Histogram({
    name: 'k8smgr_http_request_duration_seconds', help: 'HTTP request latency by route', labelNames: ['method', 'route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [this.registry],
  });
  readonly starts = new client.Counter({ name: 'k8smgr_service_starts_total', help: 'Services started (their objects created), by the API that started them: seed or outpost', labelNames: ['api'] as const, registers: [this.registry] });
  readonly startFailures = new client.Counter({ name: 'k8smgr_service_start_failures_total', help: 'Starts that failed after reaching the cluster (rolled back)', registers: [this.registry] });
  readonly timeToRunning = new client.Histogram({
    name: 'k8smgr_service_time_to_running_seconds', help: 'Time from the start request to the main container running and ready',
    buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600], registers: [this.registry],
  });
  readonly kubeRequests = new client.Counter({
    name: 'k8smgr_kube_requests_total', help: 'Kubernetes API requests by verb, kind and status code', labelNames: ['verb', 'kind', 'code'] as const, registers: [this.registry],
  });
  readonly kubeErrors = new client.Counter({
    name: 'k8smgr_kube_request_errors_total', help: 'Kubernetes API requests that failed (status >= 400 or no answer)', labelNames: ['verb', 'kind'] as const, registers: [this.registry],
  });
  readonly watchRestarts = new client.Counter({
    name: 'k8smgr_watch_restarts_total',
    help: 'Watch ends by cache, kind and reason: routine (the apiserver ended it after its timeout; resumed, no list), gone (410: relisted), error (a fault: relisted with backoff)',
    labelNames: ['cache', 'kind', 'reason'] as const,
    registers: [this.registry],
  });
  readonly configReloadErrors = new client.Counter({ name: 'k8smgr_config_reload_errors_total', help: 'Refused reloads of config.json', registers: [this.registry] });
  readonly flavorRejections = new client.Counter({
    name: 'k8smgr_flavor_rejected_starts_total', help: 'Starts refused by flavor limits, by reason: flavor_full, user_flavor_full, user_full, closed',
    labelNames: ['credential', 'flavor', 'reason'] as const, registers: [this.registry],
  });

  constructor(sources: MetricsSources = {}) {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'k8smgr_' });
    const registers = [this.registry];
    new client.Gauge({
      name: 'k8smgr_services', help: 'Services known to this manager by state', labelNames: ['state'] as const, registers,
      collect() {
        const counts = sources.servicesByState?.();
        if (!counts) return;
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
    new client.Histogram({
      name: 'k8smgr_service_seconds_since_last_poll',
      help: 'Services by the seconds since this replica last answered a poll of them (a hub that stopped polling shows in the high buckets; with several replicas, take the minimum per service across them)',
      buckets: [5, 15, 30, 60, 120, 300, 900, 3600, 14_400, 86_400], registers,
      collect() {
        const ages = sources.secondsSinceLastPoll?.();
        if (!ages) return;
        this.reset();
        for (const age of ages) this.observe(age);
      },
    });
    new client.Gauge({
      name: 'k8smgr_userjobs', help: 'Userjobs (port forwards) kept by this manager', registers,
      collect() { this.set(sources.userjobs?.() ?? 0); },
    });
    new client.Gauge({
      name: 'k8smgr_log_handler_errors', help: 'Log records a handler failed to take, since start', registers,
      collect() { this.set(sources.logHandlerErrors?.() ?? 0); },
    });
    new client.Gauge({
      name: 'k8smgr_config_ok', help: '1 when the config file on disk is the one in use, 0 while a broken file is refused (the last good config serves; readiness is not affected)', registers,
      collect() { this.set(sources.configOk?.() === false ? 0 : 1); },
    });
    new client.Gauge({
      name: 'k8smgr_leader', help: '1 on the process that holds the leader Lease (userjob forwards, restart notifications, sweeps), 0 on the others; replica is its name, process its random id (two processes may share a name)', labelNames: ['replica', 'process'] as const, registers,
      collect() {
        const leader = sources.leader?.();
        this.reset();
        if (leader) this.set({ replica: leader.replica, process: leader.process }, leader.leading ? 1 : 0);
      },
    });
    const flavorGauge = (name: string, help: string, pick: (f: { running: number; limit: number }) => number) =>
      new client.Gauge({
        name, help, labelNames: ['credential', 'flavor'] as const, registers,
        collect() {
          this.reset();
          for (const f of sources.flavors?.() ?? []) this.set({ credential: f.credential, flavor: f.flavor }, pick(f));
        },
      });
    flavorGauge('k8smgr_flavor_running', 'Running (reserved) services per credential and flavor, as every replica sees them', (f) => f.running);
    flavorGauge('k8smgr_flavor_limit', 'Maximum of services per credential and flavor (-1 unlimited, 0 closed)', (f) => f.limit);
  }

  /** For KubeGateway's onCall. */
  kubeCall = (verb: string, kind: string, code: number | 'error'): void => {
    this.kubeRequests.inc({ verb, kind, code: String(code) });
    if (code === 'error' || code >= 400) this.kubeErrors.inc({ verb, kind });
  };

  /** Counts requests by their route pattern (not the URL: servernames would explode the label set). */
  httpHooks(app: App): void {
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched';
      this.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
      this.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    });
  }

  route = async (app: App): Promise<void> => {
    app.get('/metrics', async (_request, reply) => {
      const text = await this.registry.metrics();
      return reply.type(this.registry.contentType).send(text);
    });
  };
}
