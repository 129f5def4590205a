// /api/userjobs/: SSH forwards from the manager to the node of a user's HPC job,
// with a Kubernetes Service in front, for the caller's own services.
import type { App } from '../app.js';
import { principalOf } from '../auth-plugin.js';
import type { UserjobApi } from '../../userjobs/manager.js';

const web = { config: { group: 'access_to_webservice' as const } };

export async function userjobRoutes(app: App, userjobs: UserjobApi): Promise<void> {
  app.post('/api/userjobs/', web, async (request, reply) => {
    const view = await userjobs.create(principalOf(request), request.body);
    return reply.status(201).send(view);
  });
  app.get('/api/userjobs/', web, async (request) => userjobs.list(principalOf(request)));
  app.get<{ Params: { service: string } }>('/api/userjobs/:service/', web, async (request) =>
    userjobs.get(principalOf(request), request.params.service),
  );
  app.delete<{ Params: { service: string } }>('/api/userjobs/:service/', web, async (request, reply) => {
    await userjobs.remove(principalOf(request), request.params.service);
    return reply.status(204).send();
  });
}
