// /api/services/: start, list, poll, update and stop a hub's user services.
import type { App } from '../app.js';
import type { Principal } from '../../auth/types.js';
import { principalOf } from '../auth-plugin.js';
import { documentedOnly, serviceSchemas as schemas } from '../schemas.js';
import type { ServiceApi } from '../../services/manager.js';

const group = 'access_to_webservice' as const;

export async function serviceRoutes(app: App, services: ServiceApi): Promise<void> {
  // Headers and body are checked once, by services/request.ts (the contract's messages and order).
  app.post('/api/services/', { config: { group, action: 'start' }, schema: schemas.start, validatorCompiler: documentedOnly }, async (request, reply) => {
    const record = await services.start(principalOf(request), request.headers, request.body as unknown);
    return reply.status(201).send(record);
  });
  app.get('/api/services/', { config: { group, action: 'list' }, schema: schemas.list }, async (request) => services.list(principalOf(request)));
  app.get<{ Params: { servername: string } }>('/api/services/:servername/', { config: { group, action: 'poll' }, schema: schemas.poll }, async (request) =>
    services.poll(principalOf(request), request.params.servername),
  );
  const update = async (request: { params: { servername: string }; body: unknown }, p: Principal) =>
    services.update(p, request.params.servername, request.body ?? {});
  app.put<{ Params: { servername: string } }>('/api/services/:servername/', { config: { group, action: 'update' }, schema: schemas.update }, async (request) => update(request, principalOf(request)));
  app.patch<{ Params: { servername: string } }>('/api/services/:servername/', { config: { group, action: 'update' }, schema: schemas.update }, async (request) => update(request, principalOf(request)));
  app.delete<{ Params: { servername: string } }>('/api/services/:servername/', { config: { group, action: 'stop' }, schema: schemas.stop }, async (request, reply) => {
    await services.stop(principalOf(request), request.params.servername);
    return reply.status(204).send();
  });
}
