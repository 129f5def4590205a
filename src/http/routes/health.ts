// Liveness and readiness: open to all, revealing nothing secret.
import type { App } from '../app.js';
import { healthSchemas as schemas } from '../schemas.js';

export interface Readiness {
  /** Ready when the config is loaded and every watch cache has synced and is fresh. */
  check(): { ready: boolean; details: Record<string, unknown> };
}

export async function healthRoutes(app: App, readiness: Readiness): Promise<void> {
  app.get('/api/health/', { schema: schemas.health }, async () => ({ status: 'ok' as const }));
  app.get('/api/ready/', { schema: schemas.ready }, async (_request, reply) => {
    const { ready, details } = readiness.check();
    return reply.status(ready ? 200 : 503).send({ ready, ...details });
  });
}
