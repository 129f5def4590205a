// What the HTTP layer needs from authentication.
export const GROUPS = ['access_to_webservice', 'access_to_logging', 'access_to_admin'] as const;
export type Group = (typeof GROUPS)[number];

export function isGroup(value: string): value is Group {
  return (GROUPS as readonly string[]).includes(value);
}

export interface Principal {
  /** The connected hub's credential name: owner of the services it starts. */
  credential: string;
  groups: ReadonlySet<Group>;
}

export type AuthOutcome =
  | { ok: true; principal: Principal }
  | { ok: false; reason: 'missing' | 'invalid' }
  | { ok: false; reason: 'throttled'; retryAfterSeconds: number };

export type HeaderBag = Record<string, string | string[] | undefined>;

export interface Authenticator {
  /** `source` is the client address, for failed-login throttling. */
  authenticate(headers: HeaderBag, source: string): Promise<AuthOutcome>;
}
