// Start-up users: config `startup.create_user: {<credential>: [groups]}`, each
// with its password from env `<CREDENTIAL>_USER_PASS`. Each credential is
// handled on its own: a missing variable or a bad group is an error naming it,
// and the others are still created.
import { userPassVariable } from '../config/env.js';
import type { CredentialAdmin } from './store.js';

export interface StartupResult {
  /** Credentials that now exist with the configured groups and password (created, updated or already so). */
  created: string[];
  /** One message per credential that could not be set up; never contains a password. */
  errors: string[];
}

export async function applyStartupUsers(
  store: Pick<CredentialAdmin, 'createOrUpdate'>,
  createUser: Readonly<Record<string, readonly string[]>>,
  lookup: (name: string) => string | undefined,
): Promise<StartupResult> {
  const result: StartupResult = { created: [], errors: [] };
  for (const [credential, groups] of Object.entries(createUser)) {
    const variable = userPassVariable(credential);
    const password = lookup(variable);
    if (password === undefined || password === '') {
      result.errors.push(`startup.create_user.${credential}: environment variable ${variable} is not set (it holds the password of credential "${credential}")`);
      continue;
    }
    try {
      await store.createOrUpdate(credential, { password, groups });
      result.created.push(credential);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      result.errors.push(`startup.create_user.${credential}: ${message.split(password).join('***')}`);
    }
  }
  return result;
}
