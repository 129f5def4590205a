// `k8smgr serve`: composes config, logging, Kubernetes access, watch caches,
// credentials and the HTTP app, then listens until SIGTERM.
import { readEnv, userPassVariable, type ManagerEnv } from '../config/env.js';
import { ConfigStore } from '../config/store.js';
import { LogHub } from '../logging/hub.js';
import { createLogger, type AppLogger } from '../logging/logger.js';
import { StreamHandler } from '../logging/stream-handler.js';
import { loadKubeConfig } from '../kube/client.js';
import { KubeGateway } from '../kube/gateway.js';
import { newIdentity } from '../kube/identity.js';
import { Leadership, leaderSelector } from '../kube/leadership.js';
import { ReplicaPresence } from '../kube/presence.js';
import { recoveryLogLine, restartLogLine } from '../kube/registry.js';
import { ServiceCache } from '../services/cache.js';
import { ServiceManager } from '../services/manager.js';
import { buildApp, buildMetricsApp, type App } from '../http/app.js';
import { buildReadiness } from '../http/readiness.js';
import { createCredentialStore } from '../auth/store.js';
import { CredentialAuthenticator } from '../auth/authenticator.js';
import { applyStartupUsers } from '../auth/startup.js';
import { LogAdmin } from '../logging/admin.js';
import { Metrics } from '../http/metrics.js';
import { observeTimeToRunning } from '../services/timing.js';
import { notifyHubs } from '../notify/restart.js';
import { createUserjobs } from '../userjobs/index.js';
import { combineObservers, ProgressReporter } from '../services/progress.js';
import { LifecycleSweeper } from '../services/sweeper.js';
import { createFlavors, flavorProblems } from '../flavors/index.js';
import { OutpostFace, outpostProblems } from '../outpost/index.js';
import type { Verdict } from '../status/interpret.js';
import { createAdmin, KubeSessionBook, packageVersion, sessionsSecretName } from '../admin/index.js';
import { Background } from '../background.js';

export interface ServeOptions {
  /** Print a curl line for this credential (the demo). */
  demoCredential?: string;
  env?: ManagerEnv;
}

export interface RunningManager {
  app: App;
  url: string;
  close(): Promise<void>;
}

const FIELD_MANAGER = 'k8smgr';

export async function serve(opts: ServeOptions = {}): Promise<RunningManager> {
  const env = opts.env ?? readEnv();
  // First: without a cluster nothing else is worth starting (the caller prints why and exits 1).
  const kc = loadKubeConfig(env.kubeconfig);
  const hub = new LogHub();
  await hub.set(new StreamHandler(20, 'simple', process.stdout));
  const logger: AppLogger = createLogger(hub, { deployment: env.deploymentName });

  const configStore = new ConfigStore(env.configPath);
  configStore.on('warn', (message) => logger.warning(message));
  configStore.on('error', (err) => logger.error({ problems: err.problems }, `config reload refused, keeping the last good config: ${err.message}`));
  configStore.on('change', () => logger.info({ source: configStore.status.source }, 'config reloaded'));
  const config = await configStore.load();

  // Every background part, registered once: started in the order added (background.start() at the
  // points below), walked by readiness for its details, stopped in the reverse order on shutdown.
  const background = new Background({ onStopError: (part, err) => logger.error({ part, err: (err as Error).message }, 'a background part did not stop cleanly') });
  background.add({ name: 'config', start: () => configStore.watch(), stop: () => configStore.close() });

  // The gauges read parts made below; they are collected only when /metrics is scraped, after serve() built everything.
  const metrics = new Metrics({
    servicesByState: () => services.countByState(),
    secondsSinceLastPoll: () => services.secondsSinceLastPoll(),
    logHandlerErrors: () => hub.errorCount,
    userjobs: () => userjobs.manager.status().userjobs,
    configOk: () => configStore.status.lastError === null,
    flavors: () => flavors.admission.gauges(),
    leader: (): { replica: string; process: string; leading: boolean } => ({ replica: identity.replica, process: identity.boot, leading: leadership.isLeader() }),
  });
  configStore.on('error', () => metrics.configReloadErrors.inc());

  const gateway = new KubeGateway(kc, { fieldManager: FIELD_MANAGER, onCall: metrics.kubeCall });
  // Every watch cache made on the gateway, counted per reason and logged as restartLogLine says.
  gateway.caches.onRestart((event) => {
    const { name, kind, reason, detail } = event;
    metrics.watchRestarts.inc({ cache: name, kind, reason });
    const line = restartLogLine(event);
    logger[line.level]({ cache: name, kind, reason, detail }, line.msg);
  });
  gateway.caches.onRecovered((event) => {
    const line = recoveryLogLine(event);
    logger[line.level]({ cache: event.name, kind: event.kind }, line.msg);
  });
  // Who this process is: its replica's name and a random id of its own (two processes may share a name).
  // The process id (<replica>_<boot>) holds the Lease, is written on the anchors of the starts it takes
  // and on the userjob Services it forwards, and names its presence record.
  const identity = newIdentity(env.replica);
  const started = new Date().toISOString();
  // Every process keeps a presence record (a Lease of its own): who is alive, by every replica's own clock.
  const presence = new ReplicaPresence({
    gateway, namespace: env.managerNamespace, deploymentName: env.deploymentName, identity, durationMs: env.lease.leaseDurationMs,
    collect: () => leadership.isLeader(), pid: process.pid, started, log: logger,
  });
  // One process leads (a Lease named <DEPLOYMENT_NAME>-leader): userjob forwards, restart notifications, sweeps.
  const leadership: Leadership = new Leadership({
    gateway, namespace: env.managerNamespace, deploymentName: env.deploymentName, identity, timings: env.lease, presence, log: logger,
    userjobsConfigured: async () => userjobs.manager.enabled && (await userjobs.manager.systems()).length > 0,
  });
  // Before anything that takes a start: a process is present first (another replica reads "no record" as "stopped").
  background.add({ name: 'presence', start: () => presence.start(), stop: () => presence.stop() });
  const logs = new LogAdmin({ gateway, namespace: env.managerNamespace, name: `${env.deploymentName}-logging`, hub, logger });
  background.add({ name: 'logging', start: () => logs.start(), details: () => ({ synced: logs.status().synced }), stop: () => logs.stop() });

  const cache = new ServiceCache(gateway, env.serviceNamespace, env.deploymentName);
  background.add({ name: 'service caches', start: () => cache.start(), stop: () => cache.stop() });

  const store = createCredentialStore({ gateway, namespace: env.managerNamespace, deploymentName: env.deploymentName, logger });
  background.add({
    name: 'credentials',
    start: async () => {
      store.start();
      await store.waitForSync();
    },
    stop: () => store.stop(),
  });
  await background.start();
  const startup = await applyStartupUsers(store, config.startup.create_user, env.lookup);
  for (const error of startup.errors) logger.error(`start-up user not created: ${error}`);
  if (startup.created.length) logger.info({ names: startup.created }, 'start-up users ready');
  const authenticator = new CredentialAuthenticator({ store, logger });
  background.add({ name: 'authenticator', start: () => {}, stop: () => authenticator.close() });

  const userjobs = createUserjobs({
    config: () => configStore.current, env, gateway, cache, logger,
    leadership: { id: leadership.id, holder: () => leadership.holder(), leading: () => leadership.isLeader(), selector: leaderSelector(env.deploymentName) },
  });
  // Progress events to the hub while a service starts (watch driven, claimed on the anchor).
  const progress = new ProgressReporter({
    cache,
    gateway,
    namespace: env.serviceNamespace,
    deploymentName: env.deploymentName,
    identity,
    liveVerdict: (record, anchor): Verdict => services.liveVerdict(record, anchor),
    config: () => configStore.current,
    logger,
  });
  // Flavors: capacity, per-user and runtime limits per credential, decided in the cluster.
  const flavors = createFlavors({
    config: () => configStore.current, gateway, namespace: env.serviceNamespace, instance: env.deploymentName, logger,
    hasAnchor: (credential, servername, startId) => cache.find(credential, servername)?.record.start_id === startId,
    onRejected: (credential, flavor, reason) => metrics.flavorRejections.inc({ credential, flavor, reason }),
    leading: () => leadership.isLeader(),
    lookupEnv: (name) => env.lookup(name),
  });
  const reportFlavorProblems = () => {
    for (const problem of [...flavorProblems(configStore.current.flavors), ...outpostProblems(configStore.current.outpost)]) logger.error(`config: ${problem}`);
  };
  reportFlavorProblems();
  configStore.on('change', reportFlavorProblems);
  background.add({ name: 'flavors', start: () => flavors.start(), stop: () => flavors.stop() });
  await background.start();
  const services: ServiceManager = new ServiceManager({
    config: () => configStore.current, env, gateway, cache, logger, secrets: hub.secrets, identity, admission: flavors.admission,
    observer: combineObservers(
      {
        started: (record) => metrics.starts.inc({ api: record.outpost ? 'outpost' : 'seed' }),
        startFailed: () => metrics.startFailures.inc(),
        stopped: (record) => userjobs.onServiceStopped(record),
      },
      progress,
    ),
  });
  // The JupyterHub Outpost API: a second face on the same engine.
  const outpost = new OutpostFace({ engine: services, config: () => configStore.current, namespace: env.serviceNamespace, logger });
  const sweeper = new LifecycleSweeper({
    cache, manager: services, gateway, config: () => configStore.current, logger, admission: flavors.admission,
    presence: { state: (id) => presence.state(id), confirmAbsent: (id) => presence.confirmAbsent(id) },
    leading: () => leadership.isLeader(),
  });
  let stopTiming = () => {};
  background.add({
    name: 'time to running',
    start: () => {
      stopTiming = observeTimeToRunning(cache, (record, anchor) => services.verdictOf(record, anchor).state, (seconds) => metrics.timeToRunning.observe(seconds));
    },
    stop: () => stopTiming(),
  });
  await background.start();
  await Promise.race([Promise.all([cache.waitForSync(), logs.waitForSync(), presence.waitForSync()]), new Promise((r) => setTimeout(r, 30_000))]);
  background.add({ name: 'userjobs', start: () => userjobs.start(), details: () => ({ ...userjobs.manager.status() }), stop: () => userjobs.stop() });
  background.add({ name: 'sweeper', start: () => sweeper.start(), stop: () => sweeper.stop() });
  background.add({ name: 'progress', start: () => progress.start(), stop: () => progress.close() });
  background.add({
    name: 'leadership',
    start: () => {
      leadership.onStartedLeading(() => {
        void userjobs.manager.lead();
        // A new leader looks at every start once (the sweeper acted only on its own restarts before).
        sweeper.stop();
        sweeper.start();
      });
      leadership.onStoppedLeading(() => void userjobs.manager.follow());
      leadership.start();
    },
    stop: () => leadership.stop(),
  });
  await background.start();

  // The operators' page at /admin/ (group access_to_admin): live from the same caches.
  const admin = await createAdmin({
    logger, authenticator, credentials: store, lastRequests: () => authenticator.lastRequests(),
    cache, services, config: () => configStore.current, logs, userjobs: userjobs.manager, replicas: leadership,
    sessionBook: new KubeSessionBook({ gateway, namespace: env.managerNamespace, name: sessionsSecretName(env.deploymentName) }),
    identity: {
      name: identity.replica, process: identity.boot, pid: process.pid, started, version: packageVersion(),
      deployment: env.deploymentName, namespace: env.serviceNamespace,
    },
  });
  background.add({ name: 'admin feed', start: () => admin.start(), stop: () => admin.stop() });
  await background.start();

  // Readiness walks the gateway's CacheRegistry (every watch cache) and the background parts.
  const readiness = buildReadiness({
    caches: () => gateway.caches.statuses(),
    config: () => configStore.status,
    leader: () => leadership.details(),
    parts: background,
  });

  const app = buildApp({
    logger,
    authenticator,
    services,
    flavors: flavors.admission,
    logs,
    userjobs: userjobs.manager,
    // The base path is read once: changing it takes a restart (enabled is read per request).
    outpost: { api: outpost, basePath: config.outpost.base_path, enabled: () => configStore.current.outpost.enabled },
    readiness,
    bodyLimitBytes: config.services.max_body_bytes,
    rootHooks: [(root) => metrics.httpHooks(root)],
    plugins: [admin.plugin, ...(env.metricsPort === undefined ? [metrics.route] : [])],
  });
  let metricsApp: App | undefined;
  if (env.metricsPort !== undefined) {
    metricsApp = buildMetricsApp(metrics, logger);
    await metricsApp.listen({ host: env.host, port: env.metricsPort });
  }
  const address = await app.listen({ host: env.host, port: env.port });
  const url = address.replace('0.0.0.0', '127.0.0.1');
  logger.info({ url, namespace: env.serviceNamespace }, 'K8s Manager listening');
  // Tell the hubs we restarted, in the background (retries until each entry's deadline): once per
  // site, by the leader, when this process first leads (at once when it leads from its start).
  const notifications = new AbortController();
  let notified = false;
  background.add({
    name: 'restart notifications',
    start: () => {
      leadership.onStartedLeading(() => {
        if (notified) return;
        notified = true;
        void notifyHubs(configStore.current.tunnel, { stage: env.stage, lookup: env.lookup, logger, signal: notifications.signal });
      });
    },
    stop: () => notifications.abort(),
  });
  await background.start();

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      logger.info('shutting down: no new requests, finishing those in flight');
      // Release the Lease first, so that another replica leads at once (a rolling restart).
      await background.stop('leadership');
      const bound = new Promise((r) => setTimeout(r, 10_000).unref());
      await Promise.race([app.close(), bound]);
      await metricsApp?.close();
      // Then every other background part, in the reverse order of their start.
      await background.stopAll();
      await hub.closeAll();
    })());
  return { app, url, close };
}

export function demoCurl(url: string, credential: string): string {
  const body = JSON.stringify({
    start_id: 'a1b2c3d4',
    user_options: { service: 'jupyterlab/default' },
    env: { JUPYTERHUB_STATUS_URL: 'http://127.0.0.1:1/hub/api/users/demo/server/progress', JUPYTERHUB_API_TOKEN: 'demo', JUPYTERHUB_USER_ID: 1 },
  });
  const variable = userPassVariable(credential);
  return [
    `curl -u ${credential}:$${variable} -H 'uuidcode: demo-server' -H 'Content-Type: application/json' -d '${body}' ${url}/api/services/`,
    `curl -u ${credential}:$${variable} ${url}/api/services/demo-server/`,
    `curl -u ${credential}:$${variable} -X DELETE ${url}/api/services/demo-server/`,
    '',
    `Admin page: ${url}/admin/ (log in as ${credential} with the same password)`,
  ].join('\n');
}
