// `k8smgr user add|list|remove|set-groups|token`: credentials for operators.
// Passwords come from stdin or from an environment variable named with
// --password-env, never from the command line (it shows in `ps` and shell
// history). A new token is printed once; only its hash is kept.
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { readEnv } from '../config/env.js';
import { CredentialError } from '../auth/document.js';
import type { CredentialAdmin } from '../auth/store.js';

export interface UserCommandDeps {
  store: CredentialAdmin;
  out: (line: string) => void;
  /** Error messages; default: `out`. */
  err?: (line: string) => void;
  /** Reads the password when no --password-env is given; default: stdin (no echo on a terminal). */
  readPassword?: () => Promise<string>;
  /** Environment lookup for --password-env; default: the process environment. */
  lookup?: (name: string) => string | undefined;
}

export const USER_USAGE = [
  'usage: k8smgr user <command>',
  '  add <name> --groups g1,g2 [--password-env VAR | --no-password]',
  '        create or update a credential; the password is read from stdin unless --password-env names',
  '        the environment variable that holds it (--no-password: token-only credential)',
  '  list                          names, groups, token ids (never passwords or hashes)',
  '  remove <name>                 delete a credential and its tokens',
  '  set-groups <name> g1,g2       replace the groups (an empty list: "")',
  '  token <name>                  create a token and print it (shown only this once)',
  '  token <name> --revoke <id|all> revoke a token by its id (see list) or all of them',
  'groups: access_to_webservice, access_to_logging, access_to_admin (the /admin/ page)',
];

class UsageError extends Error {}

interface Parsed {
  positional: string[];
  flags: Map<string, string | true>;
}

const VALUE_FLAGS = new Set(['--groups', '--password-env', '--revoke']);
const BOOLEAN_FLAGS = new Set(['--no-password', '--json']);

function parseArgs(args: string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (name === '--password' || name === '--token') {
      throw new UsageError(`${name} is not accepted: a secret on the command line ends up in shell history and ps; use stdin or --password-env VAR`);
    }
    if (VALUE_FLAGS.has(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
      if (value === undefined) throw new UsageError(`${name} needs a value`);
      flags.set(name, value);
    } else if (BOOLEAN_FLAGS.has(name) && eq < 0) {
      flags.set(name, true);
    } else {
      throw new UsageError(`unknown option ${arg.slice(0, 40)}`);
    }
  }
  return { positional, flags };
}

function groupList(value: string | true | undefined): string[] {
  if (typeof value !== 'string') return [];
  return value
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g !== '');
}

export async function runUserCommand(args: string[], deps: UserCommandDeps): Promise<number> {
  const err = deps.err ?? deps.out;
  try {
    const [command, ...rest] = args;
    const { positional, flags } = parseArgs(rest);
    const name = () => {
      const value = positional[0];
      if (value === undefined) throw new UsageError(`${command} needs a credential name`);
      return value;
    };
    switch (command) {
      case 'add': {
        const credential = name();
        if (!flags.has('--groups')) throw new UsageError('add needs --groups (e.g. --groups access_to_webservice)');
        let password: string | undefined;
        if (flags.has('--no-password')) {
          if (flags.has('--password-env')) throw new UsageError('--no-password and --password-env exclude each other');
        } else {
          password = await readPassword(flags.get('--password-env'), deps);
        }
        const result = await deps.store.createOrUpdate(credential, { password, groups: groupList(flags.get('--groups')) });
        deps.out(`${result.created ? 'created' : result.changed ? 'updated' : 'unchanged'}: ${credential}`);
        return 0;
      }
      case 'list': {
        const all = await deps.store.list();
        if (flags.has('--json')) {
          deps.out(JSON.stringify(all));
          return 0;
        }
        if (all.length === 0) deps.out('(no credentials)');
        for (const c of all) {
          const tokens = c.tokens.length ? c.tokens.map((t) => t.id).join(',') : '-';
          deps.out(`${c.name}\tgroups=${c.groups.join(',') || '-'}\tpassword=${c.hasPassword ? 'yes' : 'no'}\ttokens=${tokens}`);
        }
        return 0;
      }
      case 'remove': {
        const credential = name();
        deps.out((await deps.store.remove(credential)) ? `removed: ${credential}` : `no such credential: ${credential}`);
        return 0;
      }
      case 'set-groups': {
        const credential = name();
        const groups = flags.has('--groups') ? flags.get('--groups') : positional[1];
        if (groups === undefined) throw new UsageError('set-groups needs the groups (e.g. set-groups hub access_to_webservice,access_to_logging)');
        await deps.store.setGroups(credential, groupList(groups));
        deps.out(`groups of ${credential}: ${groupList(groups).join(',') || '-'}`);
        return 0;
      }
      case 'token': {
        const credential = name();
        const revoke = flags.get('--revoke');
        if (typeof revoke === 'string') {
          const done = await deps.store.revokeToken(credential, revoke);
          deps.out(done ? `revoked: ${revoke}` : `no such token of ${credential}: ${revoke}`);
          return done ? 0 : 1;
        }
        const token = await deps.store.createToken(credential);
        deps.out(token);
        err(`token for ${credential} created; it is shown only this once. Send it as "Authorization: token <token>".`);
        return 0;
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        for (const line of USER_USAGE) deps.out(line);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command: user ${command.slice(0, 40)}`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      err(`error: ${e.message}`);
      for (const line of USER_USAGE) err(line);
      return 2;
    }
    err(`error: ${e instanceof CredentialError ? e.message : e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

async function readPassword(variable: string | true | undefined, deps: UserCommandDeps): Promise<string> {
  if (typeof variable === 'string') {
    const lookup = deps.lookup ?? readEnv().lookup;
    const value = lookup(variable);
    if (value === undefined || value === '') throw new UsageError(`environment variable ${variable} is not set`);
    return value;
  }
  const password = await (deps.readPassword ?? readPasswordFromStdin)();
  if (password === '') throw new UsageError('no password on stdin (or use --password-env VAR, or --no-password)');
  return password;
}

/** First line of stdin; on a terminal, asks without echoing. */
export async function readPasswordFromStdin(): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY) {
    process.stderr.write('Password: ');
    const muted = new Writable({ write: (_chunk, _enc, done) => done() });
    const rl = createInterface({ input: stdin, output: muted, terminal: true });
    try {
      return await new Promise<string>((resolve) => rl.once('line', resolve));
    } finally {
      rl.close();
      process.stderr.write('\n');
    }
  }
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}
