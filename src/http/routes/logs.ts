// /api/logs/: the runtime log handlers and the log test.
import type { FastifyReply } from 'fastify';
import type { App } from '../app.js';
import { logSchemas as schemas } from '../schemas.js';
import type { LogAdminApi } from '../../logging/admin.js';

const config = { group: 'access_to_logging' as const };

/** The answers' bodies are the handler views (the schemas describe them loosely): send them untyped. */
function send(reply: unknown, status: number, body: unknown) {
  return (reply as FastifyReply).status(status).send(body);
}

export async function logRoutes(app: App, logs: LogAdminApi): Promise<void> {
  app.get('/api/logs/handler/', { config, schema: schemas.list }, async () => logs.list());
  app.post('/api/logs/handler/', { config, schema: schemas.create }, async (request, reply) => {
    return send(reply, 201, await logs.create(request.body));
  });
  app.get<{ Params: { type: string } }>('/api/logs/handler/:type/', { config, schema: schemas.get }, async (request) => logs.get(request.params.type));
  app.put<{ Params: { type: string } }>('/api/logs/handler/:type/', { config, schema: schemas.replace }, async (request, reply) => {
    return send(reply, 200, await logs.replace(request.params.type, request.body));
  });
  app.patch<{ Params: { type: string } }>('/api/logs/handler/:type/', { config, schema: schemas.patch }, async (request, reply) => {
    return send(reply, 200, await logs.patch(request.params.type, request.body));
  });
  app.delete<{ Params: { type: string } }>('/api/logs/handler/:type/', { config, schema: schemas.remove }, async (request, reply) => {
    await logs.remove(request.params.type);
    return reply.status(204).send();
  });
  const logtest = async (_request: unknown, reply: unknown) => {
    logs.logtest();
    return (reply as FastifyReply).status(200).send();
  };
  app.get('/api/logs/logtest/', { config, schema: schemas.logtest }, logtest);
  app.post('/api/logs/logtest/', { config, schema: schemas.logtest }, logtest);
}
