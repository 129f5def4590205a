// Readiness: ready only when the config in use is the file on disk (not a
// refused broken edit) and every watch cache has synced and heard from the
// apiserver recently. The details say which part is not; nothing secret.
import type { ReflectorStatus } from '../kube/reflector.js';
import type { ConfigStatus } from '../config/store.js';
import type { Readiness } from './routes/health.js';

export interface ReadinessSources {
  caches: () => ReadonlyArray<Readonly<ReflectorStatus>>;
  config: () => Readonly<ConfigStatus>;
  /** Extra details (e.g. userjobs supervision); they do not decide readiness. */
  extra?: () => Record<string, unknown>;
  /** A cache silent for longer than this is stale (a watch restarts well before). */
  staleAfterMs?: number;
  now?: () => number;
}

export function buildReadiness(sources: ReadinessSources): Readiness {
  const staleAfter = sources.staleAfterMs ?? 10 * 60_000;
  const now = sources.now ?? Date.now;
  return {
    check() {
      const caches = sources.caches().map((c) => ({
        kind: c.kind,
        synced: c.synced,
        stale: c.synced && now() - c.lastContact > staleAfter,
        restarts: c.restarts,
        last_error: c.lastError,
      }));
      const cfg = sources.config();
      const ready = caches.every((c) => c.synced && !c.stale) && cfg.lastError === null;
      return {
        ready,
        details: {
          config: { source: cfg.source, loaded_at: cfg.loadedAt, last_error: cfg.lastError },
          caches,
          ...sources.extra?.(),
        },
      };
    },
  };
}
