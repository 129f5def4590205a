// createAdmin(deps): the operators' page at /admin/ for credentials of the
// group access_to_admin (docs/admin.md). Gives `k8smgr serve` a route plugin
// (for buildApp's `plugins`), start (after the watch caches synced: follow
// them) and stop.
import type { App } from '../http/app.js';
import { loadAssets, staticDir, type Asset } from './assets.js';

export { packageVersion } from './assets.js';
import { LiveFeed } from './feed.js';
import { adminRoutes } from './routes.js';
import { SessionStore } from './sessions.js';
export { KubeSessionBook, sessionsSecretName } from './session-book.js';
import { EventStreams } from './stream.js';
import type { AdminDeps } from './types.js';

export type { AdminDeps, AdminServices, AdminCredentials, AdminLogs, AdminUserjobs, ReplicaSource, ReplicaInfo, ReplicaIdentity } from './types.js';

export interface Admin {
  plugin: (app: App) => Promise<void>;
  /** Reads the caches and follows them (the live table, the per-minute counts). */
  start(): void;
  stop(): void;
  /** Open event streams (for tests and metrics). */
  readonly streams: number;
}

export async function createAdmin(deps: AdminDeps, opts: { staticDir?: string } = {}): Promise<Admin> {
  const dir = opts.staticDir ?? staticDir();
  // Without its files the page cannot be shown, but the manager must still serve the hubs.
  const assets = await loadAssets(dir).catch((err: unknown) => {
    deps.logger.error({ err: (err as Error).message, dir }, 'admin page: static files missing; /admin/ answers 503');
    return new Map<string, Asset>();
  });
  const sessions = new SessionStore(
    { entry: (name) => deps.credentials.snapshot().doc.credentials[name] },
    { onError: (err) => deps.logger.warning({ err: err.message }, 'admin page: a session could not be written'), ...deps.sessions },
    deps.sessionBook,
  );
  const feed = new LiveFeed({
    cache: deps.cache,
    verdictOf: (record, anchor) => deps.services.verdictOf(record, anchor),
    mainContainer: () => deps.config().services.container_main_name,
    batchMs: deps.batchMs,
  });
  const streams = new EventStreams(feed);
  return {
    plugin: (app) => adminRoutes(app, { deps, assets, sessions, feed, streams }),
    start: () => {
      sessions.start();
      feed.start();
    },
    stop: () => {
      streams.closeAll();
      feed.stop();
      sessions.stop();
    },
    get streams() {
      return streams.size;
    },
  };
}
