import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SshClient, type RunResult, type SshOptions } from '../../../src/userjobs/ssh.js';
import { TunnelError, TunnelSupervisor } from '../../../src/userjobs/supervisor.js';
import type { AppLogger } from '../../../src/logging/logger.js';

const opts: SshOptions = {
  binary: 'ssh', configFile: undefined, controlDir: '/tmp/none', bindAddress: '0.0.0.0',
  connectTimeoutSeconds: 1, commandTimeoutSeconds: 1, serverAliveIntervalSeconds: 0,
};
const quiet = new Proxy({}, { get: () => () => undefined }) as unknown as AppLogger;
const ok = (stderr = ''): RunResult => ({ code: 0, stdout: '', stderr, timedOut: false });
const fail = (stderr: string): RunResult => ({ code: 255, stdout: '', stderr, timedOut: false });

/** A fake ssh: one master per system that can be up or down, and its forwards. */
function fakeSsh(reachable = true) {
  const state = { up: false, pid: 100, forwards: new Set<string>(), log: [] as string[] };
  const runner = async (_bin: string, args: string[]): Promise<RunResult> => {
    const op = args[args.indexOf('-O') + 1];
    const spec = args[args.indexOf('-L') + 1] ?? '';
    if (!args.includes('-O')) {
      state.log.push('master');
      if (!reachable) return fail('ssh: connect to host h port 22: Connection refused');
      state.up = true;
      state.pid++;
      return ok();
    }
    state.log.push(`${op}${op === 'forward' || op === 'cancel' ? ` ${spec}` : ''}`);
    if (!state.up) return fail('Control socket connect(/tmp/none/x.sock): No such file or directory');
    if (op === 'check') return ok(`Master running (pid=${state.pid})`);
    if (op === 'forward') state.forwards.add(spec);
    if (op === 'cancel') state.forwards.delete(spec);
    if (op === 'exit') state.up = false;
    return ok();
  };
  return { state, client: new SshClient(opts, runner) };
}

test('ensure starts the master once and adds the forwards; remove cancels them', async () => {
  const { state, client } = fakeSsh();
  const sup = new TunnelSupervisor(client, quiet, async () => false);
  await sup.ensure('hub\0lab', 'hpc1', [{ localPort: 40000, node: 'n1', nodePort: 80 }]);
  await sup.ensure('hub\0lab2', 'hpc1', [{ localPort: 40001, node: 'n2', nodePort: 81 }]);
  assert.deepEqual([...state.forwards], ['0.0.0.0:40000:n1:80', '0.0.0.0:40001:n2:81']);
  assert.equal(state.log.filter((l) => l === 'master').length, 1);
  assert.equal(sup.status().systems.hpc1?.pid, 101);
  await sup.remove('hub\0lab');
  assert.deepEqual([...state.forwards], ['0.0.0.0:40001:n2:81']);
  assert.equal(sup.has('hub\0lab2', 'hpc1', [{ localPort: 40001, node: 'n2', nodePort: 81 }]), true);
});

test('a dead master is started again by the next round and every forward comes back', async () => {
  const { state, client } = fakeSsh();
  const sup = new TunnelSupervisor(client, quiet, async () => false);
  await sup.ensure('a', 'hpc1', [{ localPort: 40000, node: 'n1', nodePort: 80 }]);
  await sup.ensure('b', 'hpc1', [{ localPort: 40001, node: 'n1', nodePort: 81 }]);
  state.up = false;
  state.forwards.clear();
  await sup.tick();
  assert.equal(state.up, true);
  assert.deepEqual([...state.forwards].sort(), ['0.0.0.0:40000:n1:80', '0.0.0.0:40001:n1:81']);
});

test('a forward whose port nobody holds is added again', async () => {
  const { state, client } = fakeSsh();
  const free = new Set<number>();
  const sup = new TunnelSupervisor(client, quiet, async (_a, p) => free.has(p));
  await sup.ensure('a', 'hpc1', [{ localPort: 40000, node: 'n1', nodePort: 80 }]);
  state.forwards.clear();
  free.add(40000);
  const before = state.log.length;
  await sup.tick();
  assert.deepEqual(state.log.slice(before), ['check', 'forward 0.0.0.0:40000:n1:80']);
});

test('an unreachable system fails with the tunnel message and is not hammered', async () => {
  const { state, client } = fakeSsh(false);
  const sup = new TunnelSupervisor(client, quiet, async () => false);
  const err = await sup.ensure('a', 'down', [{ localPort: 40000, node: 'n1', nodePort: 80 }]).catch((e: unknown) => e);
  assert.ok(err instanceof TunnelError);
  assert.equal(err.message, 'Could not create connection to tunnel_down');
  assert.match(err.detail, /Connection refused/);
  await assert.rejects(sup.ensure('b', 'down', [{ localPort: 40001, node: 'n1', nodePort: 80 }]), TunnelError);
  assert.equal(state.log.filter((l) => l === 'master').length, 1, 'the second attempt within a few seconds fails at once');
  assert.equal(sup.has('a', 'down', [{ localPort: 40000, node: 'n1', nodePort: 80 }]), false);
});
