// Readiness: ready when every watch cache has synced and heard from the
// apiserver recently. A refused (broken) config.json does NOT make a replica
// unready: every replica reads the same ConfigMap, so one bad edit would take
// all of them out of the Service at once, while each keeps serving with its
// last good config. The broken config is reported instead: in the details of
// /api/ready/ and /api/health/, in k8smgr_config_ok and in the log.
// Nothing secret in any of it.
import type { ReflectorStatus } from '../kube/reflector.js';
import type { ConfigStatus } from '../config/store.js';
import type { Readiness } from './routes/health.js';

export interface ReadinessSources {
  /** Every watch cache: the gateway's CacheRegistry (`gateway.caches.statuses()`), so none is left out. */
  caches: () => ReadonlyArray<Readonly<ReflectorStatus>>;
  config: () => Readonly<ConfigStatus>;
  /** Extra details (e.g. userjobs supervision); they do not decide readiness. */
  extra?: () => Record<string, unknown>;
  /** The background parts (src/background.ts): their details, and a part that is not ready holds readiness back. */
  parts?: { ready(): boolean; details(): Record<string, unknown> };
  /** Who leads (in /api/ready/ and /api/health/ details); does not decide readiness. */
  leader?: () => { replica: string; process: string; leading: boolean; holder: string | null; since?: string };
  /** A cache silent for longer than this is stale (a watch restarts well before). */
  staleAfterMs?: number;
  now?: () => number;
}

/** How the config in use relates to the file on disk; `ok: false` while a broken file is refused. */
export interface ConfigReport {
  ok: boolean;
  source: string;
  loaded_at: string;
  last_error: string | null;
}

export function configReport(cfg: Readonly<ConfigStatus>): ConfigReport {
  return { ok: cfg.lastError === null, source: cfg.source, loaded_at: cfg.loadedAt, last_error: cfg.lastError };
}

export function buildReadiness(sources: ReadinessSources): Readiness {
  const staleAfter = sources.staleAfterMs ?? 10 * 60_000;
  const now = sources.now ?? Date.now;
  return {
    check() {
      const caches = sources.caches().map((c) => ({
        name: c.name ?? c.kind,
        kind: c.kind,
        synced: c.synced,
        stale: c.synced && now() - c.lastContact > staleAfter,
        restarts: c.restarts,
        resumes: c.resumes ?? 0,
        last_error: c.lastError,
        objects: c.objects ?? null,
        held: c.held ?? 0,
        resource_version: c.resourceVersion ?? null,
      }));
      const ready = caches.every((c) => c.synced && !c.stale) && (sources.parts?.ready() ?? true);
      return {
        ready,
        details: {
          config: configReport(sources.config()),
          caches,
          ...sources.extra?.(),
          ...sources.parts?.details(),
          ...(sources.leader ? { leader: sources.leader() } : {}),
        },
      };
    },
    health() {
      return { config: configReport(sources.config()), ...(sources.leader ? { leader: sources.leader() } : {}) };
    },
  };
}
