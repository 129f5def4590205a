// /api/userjobs/: SSH forwards from the manager to the node of a user's HPC job,
// with a Kubernetes Service in front, for the caller's own services.
import type { App } from '../app.js';
import { principalOf } from '../auth-plugin.js';
import { documentedOnly, userjobSchemas as schemas } from '../schemas.js';
import type { UserjobApi } from '../../userjobs/manager.js';

const config = { group: 'access_to_webservice' as const };

export async function userjobRoutes(app: App, userjobs: UserjobApi): Promise<void> {
  // The body is checked once, by userjobs/request.ts (the contract's messages and order).
  app.post('/api/userjobs/', { config, schema: schemas.create, validatorCompiler: documentedOnly }, async (request, reply) => {
    const view = await userjobs.create(principalOf(request), request.body as unknown);
    return reply.status(201).send(view);
  });
  app.get('/api/userjobs/', { config, schema: schemas.list }, async (request) => userjobs.list(principalOf(request)));
  app.get<{ Params: { service: string } }>('/api/userjobs/:service/', { config, schema: schemas.get }, async (request) =>
    userjobs.get(principalOf(request), request.params.service),
  );
  app.delete<{ Params: { service: string } }>('/api/userjobs/:service/', { config, schema: schemas.remove }, async (request, reply) => {
    await userjobs.remove(principalOf(request), request.params.service);
    return reply.status(204).send();
  });
}
