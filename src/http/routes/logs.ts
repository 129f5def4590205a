// /api/logs/: the runtime log handlers and the log test.
import type { App } from '../app.js';

export interface LogAdminApi {
  list(): Record<string, unknown>;
  get(type: string): Record<string, unknown>;
  create(body: unknown): Promise<{ status: number; body: unknown }>;
  replace(type: string, configuration: unknown): Promise<{ status: number; body: unknown }>;
  patch(type: string, configuration: unknown): Promise<{ status: number; body: unknown }>;
  remove(type: string): Promise<void>;
  logtest(): void;
}

const logging = { config: { group: 'access_to_logging' as const } };

export async function logRoutes(app: App, logs: LogAdminApi): Promise<void> {
  app.get('/api/logs/handler/', logging, async () => logs.list());
  app.post('/api/logs/handler/', logging, async (request, reply) => {
    const result = await logs.create(request.body);
    return reply.status(result.status).send(result.body);
  });
  app.get<{ Params: { type: string } }>('/api/logs/handler/:type/', logging, async (request) => logs.get(request.params.type));
  app.put<{ Params: { type: string } }>('/api/logs/handler/:type/', logging, async (request, reply) => {
    const result = await logs.replace(request.params.type, request.body);
    return reply.status(result.status).send(result.body);
  });
  app.patch<{ Params: { type: string } }>('/api/logs/handler/:type/', logging, async (request, reply) => {
    const result = await logs.patch(request.params.type, request.body);
    return reply.status(result.status).send(result.body);
  });
  app.delete<{ Params: { type: string } }>('/api/logs/handler/:type/', logging, async (request, reply) => {
    await logs.remove(request.params.type);
    return reply.status(204).send();
  });
  const logtest = async (_request: unknown, reply: { status: (n: number) => { send: () => unknown } }) => {
    logs.logtest();
    return reply.status(200).send();
  };
  app.get('/api/logs/logtest/', logging, logtest);
  app.post('/api/logs/logtest/', logging, logtest);
}
