// /api/logs/: the runtime log handlers and the log test.
import type { FastifyReply } from 'fastify';
import type { App } from '../app.js';
import { logSchemas as schemas } from '../schemas.js';

export interface LogAdminApi {
  list(): Record<string, unknown>;
  get(type: string): Record<string, unknown>;
  create(body: unknown): Promise<{ status: number; body: unknown }>;
  replace(type: string, configuration: unknown): Promise<{ status: number; body: unknown }>;
  patch(type: string, configuration: unknown): Promise<{ status: number; body: unknown }>;
  remove(type: string): Promise<void>;
  logtest(): void;
}

const config = { group: 'access_to_logging' as const };

/** The admin decides the status (201, 200, 400 …): send it untyped. */
function send(reply: unknown, result: { status: number; body: unknown }) {
  return (reply as FastifyReply).status(result.status).send(result.body);
}

export async function logRoutes(app: App, logs: LogAdminApi): Promise<void> {
  app.get('/api/logs/handler/', { config, schema: schemas.list }, async () => logs.list());
  app.post('/api/logs/handler/', { config, schema: schemas.create }, async (request, reply) => {
    return send(reply, await logs.create(request.body));
  });
  app.get<{ Params: { type: string } }>('/api/logs/handler/:type/', { config, schema: schemas.get }, async (request) => logs.get(request.params.type));
  app.put<{ Params: { type: string } }>('/api/logs/handler/:type/', { config, schema: schemas.replace }, async (request, reply) => {
    return send(reply, await logs.replace(request.params.type, request.body));
  });
  app.patch<{ Params: { type: string } }>('/api/logs/handler/:type/', { config, schema: schemas.patch }, async (request, reply) => {
    return send(reply, await logs.patch(request.params.type, request.body));
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
