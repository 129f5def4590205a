// /api/flavors/: the flavors of the caller's credential with their settings and
// current usage (all users, and one user's with ?user_id=).
import { Type } from 'typebox';
import type { App } from '../app.js';
import { principalOf } from '../auth-plugin.js';
import { AnyError } from '../schemas.js';
import type { FlavorsApi, FlavorsView } from '../../flavors/admission.js';

const Limit = (description: string) => Type.Integer({ minimum: -1, description });
const Quantities = Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()]));
const Runtime = Type.Union([
  Type.Integer(),
  Type.Object({ days: Type.Optional(Type.Number()), hours: Type.Optional(Type.Number()), minutes: Type.Optional(Type.Number()), seconds: Type.Optional(Type.Number()) }),
], { description: 'as configured: seconds, or {days, hours, minutes, seconds}' });

export const FlavorView = Type.Object({
  display_name: Type.String(),
  description: Type.String(),
  weight: Type.Number({ description: 'display order' }),
  max: Limit('services of this flavor at once over all users; -1 unlimited, 0 closed'),
  max_per_user: Limit('services of this flavor one user may run (the asked user\'s, with overrides); -1 unlimited'),
  runtime_seconds: Type.Integer({ minimum: 0, description: 'runtime limit; 0 none' }),
  runtime: Type.Optional(Runtime),
  resources: Type.Optional(Type.Object({ requests: Type.Optional(Quantities), limits: Type.Optional(Quantities) }, { description: 'set on the main container' })),
  defined: Type.Boolean({ description: 'false for a name in use that the config does not define' }),
  current: Type.Integer({ minimum: 0, description: 'running (reserved) services of this flavor, all users' }),
  user_current: Type.Optional(Type.Integer({ minimum: 0, description: 'the asked user\'s running services of this flavor' })),
});

export const FlavorsAnswer = Type.Object({
  credential: Type.String(),
  default: Type.Union([Type.String(), Type.Null()], { description: 'the flavor of a start without user_options.flavor' }),
  max_per_user: Limit('services one user may run over all flavors; -1 unlimited'),
  undefined_max: Limit('max for flavor names the config does not define; 0: such names are refused'),
  current: Type.Integer({ minimum: 0, description: 'running services of this credential with a flavor' }),
  user: Type.Optional(Type.Object({ user_id: Type.String(), user_name: Type.Optional(Type.String()), current: Type.Integer({ minimum: 0 }) })),
  flavors: Type.Record(Type.String(), FlavorView),
}, { description: 'flavors of the caller\'s credential with settings and usage' });

const Query = Type.Object({
  user_id: Type.Optional(Type.String({ maxLength: 200, description: 'the hub\'s user id: adds this user\'s usage and limits (user overrides applied)' })),
  user_name: Type.Optional(Type.String({ maxLength: 200, description: 'the user\'s name, for user overrides by name' })),
});

export const flavorSchemas = {
  list: {
    tags: ['services', 'flavors'],
    summary: 'Flavors of the caller\'s credential: settings and current usage',
    querystring: Query,
    response: { 200: FlavorsAnswer, 400: AnyError, 401: AnyError, 403: AnyError, 429: AnyError },
  },
};

/** The answer for a credential without flavors (and an app built without the flavors room). */
export const NO_FLAVORS: FlavorsApi = {
  view: (credential): FlavorsView => ({ credential, default: null, max_per_user: -1, undefined_max: 0, current: 0, flavors: {} }),
  outpostDocument: () => ({}),
};

export async function flavorRoutes(app: App, flavors: FlavorsApi): Promise<void> {
  app.get('/api/flavors/', { config: { group: 'access_to_webservice', action: 'flavors' }, schema: flavorSchemas.list }, async (request) => {
    const { user_id: id, user_name: name } = request.query as { user_id?: string; user_name?: string };
    return flavors.view(principalOf(request).credential, id !== undefined && id !== '' ? { id, name } : undefined);
  });
}
