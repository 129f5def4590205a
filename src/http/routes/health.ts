// Liveness and readiness: open to all, revealing nothing secret.
import { Type } from 'typebox';
import type { App } from '../app.js';
import { healthSchemas as schemas } from '../schemas.js';

export interface Readiness {
  /** Ready when every watch cache has synced and is fresh (a refused config.json is reported, not a reason). */
  check(): { ready: boolean; details: Record<string, unknown> };
  /** Details for the liveness answer (e.g. a refused config.json); they never change its status. */
  health?(): { config?: { ok: boolean; source: string; loaded_at: string; last_error: string | null }; leader?: { replica: string; process: string; leading: boolean; holder: string | null; since?: string } };
}

const ConfigReport = Type.Object({
  ok: Type.Boolean({ description: 'false while a broken config.json is refused and the last good config is in use' }),
  source: Type.String(),
  loaded_at: Type.String({ description: 'when the config in use was loaded' }),
  last_error: Type.Union([Type.String(), Type.Null()], { description: 'why the file on disk was refused' }),
});

const LeaderReport = Type.Object({
  replica: Type.String({ description: 'this replica\'s name (POD_NAME, else HOSTNAME, else the host name); two processes may share it' }),
  process: Type.String({ description: 'this process\'s random id, drawn at its start (not the OS pid): tells two processes of one name apart' }),
  leading: Type.Boolean({ description: 'true when this process holds the leader Lease (userjob forwards, restart notifications, sweeps)' }),
  holder: Type.Union([Type.String(), Type.Null()], { description: 'the Lease\'s holder as last read, `<replica>_<process>`; null: nobody' }),
  since: Type.Optional(Type.String({ description: 'when this process started leading' })),
});

const healthSchema = {
  ...schemas.health,
  response: {
    200: Type.Object(
      { status: Type.Literal('ok'), config: Type.Optional(ConfigReport), leader: Type.Optional(LeaderReport) },
      { description: 'The process answers; config.ok false says a broken config.json is refused (still 200)' },
    ),
  },
};

const readySchema = { ...schemas.ready, summary: 'Readiness: watch caches synced and fresh; a refused config.json is reported in details, not a reason for 503' };

export async function healthRoutes(app: App, readiness: Readiness): Promise<void> {
  app.get('/api/health/', { schema: healthSchema }, async () => ({ status: 'ok' as const, ...readiness.health?.() }));
  app.get('/api/ready/', { schema: readySchema }, async (_request, reply) => {
    const { ready, details } = readiness.check();
    return reply.status(ready ? 200 : 503).send({ ready, ...details });
  });
}
