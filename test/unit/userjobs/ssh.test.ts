import { test } from 'node:test';
import assert from 'node:assert/strict';
import { controlArgs, forwardSpec, masterArgs, runCommand, socketPath, SshClient, type RunResult, type SshOptions } from '../../../src/userjobs/ssh.js';

const opts: SshOptions = {
  binary: 'ssh', configFile: '/etc/k8smgr/ssh_config', controlDir: '/run/k8smgr', bindAddress: '0.0.0.0',
  connectTimeoutSeconds: 7, commandTimeoutSeconds: 9, serverAliveIntervalSeconds: 15,
};

test('master: -F, own control socket, batch mode, bounded connect, background, no command', () => {
  assert.deepEqual(masterArgs(opts, 'hpc1'), [
    '-F', '/etc/k8smgr/ssh_config', '-S', '/run/k8smgr/hpc1.sock',
    '-o', 'ControlMaster=yes', '-o', 'ControlPersist=no', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=7',
    '-o', 'ServerAliveInterval=15', '-o', 'ServerAliveCountMax=3', '-o', 'ExitOnForwardFailure=no',
    '-f', '-N', '-T', 'tunnel_hpc1',
  ]);
  assert.deepEqual(masterArgs({ ...opts, configFile: undefined }, 'hpc1').slice(0, 2), ['-S', '/run/k8smgr/hpc1.sock']);
});

test('forward and cancel go through the socket with one -L argument', () => {
  const t = { localPort: 40001, node: 'n01', nodePort: 8888 };
  assert.deepEqual(controlArgs(opts, 'hpc1', 'forward', t), [
    '-F', '/etc/k8smgr/ssh_config', '-S', '/run/k8smgr/hpc1.sock', '-o', 'BatchMode=yes', '-O', 'forward', '-L', '0.0.0.0:40001:n01:8888', 'tunnel_hpc1',
  ]);
  assert.deepEqual(controlArgs(opts, 'hpc1', 'check').slice(-3), ['-O', 'check', 'tunnel_hpc1']);
  assert.equal(controlArgs(opts, 'hpc1', 'cancel', t).includes('cancel'), true);
});

test('argv builders refuse anything unchecked', () => {
  assert.throws(() => forwardSpec('0.0.0.0', { localPort: 1, node: '-oProxyCommand=x', nodePort: 22 }));
  assert.throws(() => forwardSpec('0.0.0.0', { localPort: 0, node: 'n', nodePort: 22 }));
  assert.throws(() => forwardSpec('0.0.0.0', { localPort: 1, node: 'n', nodePort: 65536 }));
  assert.throws(() => forwardSpec('*', { localPort: 1, node: 'n', nodePort: 22 }));
  assert.throws(() => socketPath('/run', '../etc'));
  assert.throws(() => socketPath('/run', '-x'));
  assert.throws(() => masterArgs(opts, 'a b'));
});

test('runCommand runs without a shell and kills what does not finish in time', async () => {
  const echoed = await runCommand('/bin/echo', ['$(id)', ';', '|'], 5000);
  assert.deepEqual([echoed.code, echoed.stdout], [0, '$(id) ; |\n']);
  const t0 = Date.now();
  const slow = await runCommand('/bin/sleep', ['10'], 300);
  assert.equal(slow.timedOut, true);
  assert.ok(Date.now() - t0 < 3000);
  const missing = await runCommand('/nonexistent/ssh', [], 1000);
  assert.equal(missing.code, null);
  assert.match(missing.stderr, /ENOENT/);
});

test('a failed master start says what ssh said; check reads the pid', async () => {
  const calls: string[][] = [];
  const results: RunResult[] = [
    { code: 255, stdout: '', stderr: 'ssh: connect to host x port 22: Connection refused', timedOut: false },
    { code: 0, stdout: '', stderr: 'Master running (pid=4711)\r\n', timedOut: false },
  ];
  const client = new SshClient(opts, async (_bin, args) => {
    calls.push(args);
    return results.shift() ?? { code: 0, stdout: '', stderr: '', timedOut: false };
  });
  await assert.rejects(client.startMaster('hpc1'), /Connection refused/);
  assert.deepEqual(await client.check('hpc1'), { alive: true, pid: 4711, message: 'Master running (pid=4711)\r\n' });
  assert.equal(calls.length, 2);
});
