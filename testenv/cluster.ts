// A real Kubernetes control plane on this machine, for tests, benchmarks and the demo:
// etcd, kube-apiserver, kube-controller-manager, kube-scheduler (built from source by
// testenv/build.sh) and kwok, which simulates the nodes and plays their pods' lifecycle.
//
//   npm run cluster -- up       build if needed, start, wait until ready (idempotent)
//   npm run cluster -- down     stop the processes of state.json, remove the state dir
//   npm run cluster -- status   what runs, on which ports
//   npm run cluster -- env      print `export KUBECONFIG=...`
//
// State dir: $K8SMGR_TESTENV_DIR or <repo>/.testenv. Binaries: see testenv/build.sh.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const testenvDir = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.dirname(testenvDir);
const stateDir = path.resolve(process.env.K8SMGR_TESTENV_DIR ?? path.join(repoRoot, '.testenv'));
const pkiDir = path.join(stateDir, 'pki');
const logDir = path.join(stateDir, 'logs');
const etcdDataDir = path.join(stateDir, 'etcd');
const statePath = path.join(stateDir, 'state.json');
const kubeconfigPath = path.join(stateDir, 'kubeconfig');

const SERVICE_CIDR = '10.96.0.0/16';
const FIRST_SERVICE_IP = '10.96.0.1';
const POD_CIDR = '10.244.0.1/16';
const NODE_NAMES = ['kwok-node-0', 'kwok-node-1'];
const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
const READY_TIMEOUT_MS = Number(process.env.K8SMGR_TESTENV_TIMEOUT_MS ?? 120_000);

type Component = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok';
const COMPONENTS: Component[] = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'];

interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
  scheduler: number;
  kwok: number;
}

interface State {
  stateDir: string;
  binDir: string;
  startedAt: string;
  server: string;
  kubeconfig: string;
  ports: Ports;
  pids: Partial<Record<Component, number>>;
  nodes: string[];
}

const log = (msg: string): void => console.log(`cluster: ${msg}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const seconds = (startMs: number): string => `${((Date.now() - startMs) / 1000).toFixed(1)} s`;

// ---------------------------------------------------------------- state and processes

function readState(): State | undefined {
  try {
    return JSON.parse(fs.readFileSync(statePath, 'utf8')) as State;
  } catch {
    return undefined;
  }
}

/** True while pid exists and is not a zombie (an exited child that its parent did not reap yet). */
function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** True when pid runs one of our binaries for this state dir (guards against pid reuse). */
function isOurProcess(pid: number, component: Component, state: State): boolean {
  let cmdline: string;
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return false;
  }
  const argv = cmdline.split('\0');
  return argv[0] === path.join(state.binDir, component) && argv.some((a) => a.includes(state.stateDir));
}

function processState(state: State): Record<Component, 'running' | 'stopped'> {
  const out = {} as Record<Component, 'running' | 'stopped'>;
  for (const c of COMPONENTS) {
    const pid = state.pids[c];
    out[c] = pid !== undefined && isAlive(pid) && isOurProcess(pid, c, state) ? 'running' : 'stopped';
  }
  return out;
}

async function stopProcesses(state: State): Promise<void> {
  // Clients first, then the apiserver, then etcd: each stops cleanly while what it talks to still runs.
  const groups: Component[][] = [['kwok', 'kube-scheduler', 'kube-controller-manager'], ['kube-apiserver'], ['etcd']];
  for (const group of groups) {
    const pids: number[] = [];
    for (const c of group) {
      const pid = state.pids[c];
      if (pid === undefined || !isAlive(pid)) continue;
      if (!isOurProcess(pid, c, state)) {
        log(`pid ${pid} is no longer ${c} of ${state.stateDir}; not touching it`);
        continue;
      }
      process.kill(pid, 'SIGTERM');
      pids.push(pid);
    }
    const deadline = Date.now() + 10_000;
    while (pids.some(isAlive) && Date.now() < deadline) await sleep(50);
    for (const pid of pids.filter(isAlive)) {
      log(`pid ${pid} did not stop on SIGTERM within 10 s; sending SIGKILL`);
      process.kill(pid, 'SIGKILL');
    }
    const killDeadline = Date.now() + 5_000;
    while (pids.some(isAlive) && Date.now() < killDeadline) await sleep(50);
  }
}

function startProcess(binDir: string, component: Component, args: string[]): number {
  const out = fs.openSync(path.join(logDir, `${component}.log`), 'a');
  fs.writeSync(out, `\n==== ${new Date().toISOString()} ${component} ${args.join(' ')}\n`);
  const child = spawn(path.join(binDir, component), args, {
    cwd: stateDir,
    detached: true, // own session: survives the npm command and its Ctrl-C
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  child.unref();
  if (child.pid === undefined) throw new Error(`cannot start ${component}`);
  return child.pid;
}

async function freePort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.on('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        srv.close(() => resolve(typeof addr === 'object' && addr !== null ? addr.port : 0));
      });
    });
    if (port !== 0 && !taken.has(port)) {
      taken.add(port);
      return port;
    }
  }
}

async function pickPorts(): Promise<Ports> {
  const taken = new Set<number>();
  return {
    etcdClient: await freePort(taken),
    etcdPeer: await freePort(taken),
    apiserver: await freePort(taken),
    controllerManager: await freePort(taken),
    scheduler: await freePort(taken),
    kwok: await freePort(taken),
  };
}

// ---------------------------------------------------------------- build

/** The control plane and kwok (helm and kubectl are the chart tests': testenv/tools.ts, scripts/test.sh). */
function buildBinaries(): string {
  const script = path.join(testenvDir, 'build.sh');
  execFileSync('bash', [script, 'controlplane', 'kwok'], { stdio: 'inherit' });
  return execFileSync('bash', [script, '--print-bin-dir'], { encoding: 'utf8' }).trim();
}

// ---------------------------------------------------------------- certificates

function openssl(args: string[], input?: string): void {
  execFileSync('openssl', args, { cwd: pkiDir, stdio: ['pipe', 'ignore', 'pipe'], input });
}

function ecKey(name: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`]);
  fs.chmodSync(path.join(pkiDir, `${name}.key`), 0o600);
}

function signedCert(name: string, subject: string, ext: string[]): void {
  ecKey(name);
  fs.writeFileSync(path.join(pkiDir, `${name}.ext`), ext.join('\n') + '\n');
  openssl(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`]);
  openssl([
    'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-days', '3650', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.crt`,
  ]);
  fs.rmSync(path.join(pkiDir, `${name}.csr`));
  fs.rmSync(path.join(pkiDir, `${name}.ext`));
}

const CLIENT_EXT = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=clientAuth'];

function generatePki(): void {
  fs.mkdirSync(pkiDir, { recursive: true, mode: 0o700 });
  ecKey('ca');
  openssl([
    'req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=k8smgr-testenv-ca', '-days', '3650', '-sha256',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    '-out', 'ca.crt',
  ]);
  const serverExt = (sans: string): string[] => [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    `subjectAltName=${sans}`,
  ];
  signedCert(
    'apiserver',
    '/CN=kube-apiserver',
    serverExt(
      `IP:127.0.0.1,IP:${FIRST_SERVICE_IP},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,` +
        'DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
    ),
  );
  signedCert('kwok-serving', '/CN=kwok', serverExt(`IP:127.0.0.1,DNS:localhost,${NODE_NAMES.map((n) => `DNS:${n}`).join(',')}`));
  signedCert('admin', '/O=system:masters/CN=k8smgr-admin', CLIENT_EXT);
  signedCert('kube-controller-manager', '/CN=system:kube-controller-manager', CLIENT_EXT);
  signedCert('kube-scheduler', '/CN=system:kube-scheduler', CLIENT_EXT);
  signedCert('kwok', '/O=system:masters/CN=kwok-controller', CLIENT_EXT);
  signedCert('apiserver-kubelet-client', '/O=system:masters/CN=kube-apiserver-kubelet-client', CLIENT_EXT);
  // Service-account token signing key pair.
  openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'sa.key']);
  fs.chmodSync(path.join(pkiDir, 'sa.key'), 0o600);
  openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
}

function writeKubeconfig(file: string, server: string, user: string, cert: string): void {
  const b64 = (f: string): string => fs.readFileSync(path.join(pkiDir, f)).toString('base64');
  const text = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: k8smgr-testenv',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64('ca.crt')}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    client-certificate-data: ${b64(`${cert}.crt`)}`,
    `    client-key-data: ${b64(`${cert}.key`)}`,
    'contexts:',
    '- name: k8smgr-testenv',
    '  context:',
    '    cluster: k8smgr-testenv',
    `    user: ${user}`,
    'current-context: k8smgr-testenv',
    '',
  ].join('\n');
  fs.writeFileSync(file, text, { mode: 0o600 });
}

// ---------------------------------------------------------------- talking to the apiserver

interface HttpResult {
  status: number;
  body: string;
}

function apiRequest(
  state: Pick<State, 'ports'>,
  method: string,
  urlPath: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      {
        host: '127.0.0.1',
        port: state.ports.apiserver,
        method,
        path: urlPath,
        ca: fs.readFileSync(path.join(pkiDir, 'ca.crt')),
        cert: fs.readFileSync(path.join(pkiDir, 'admin.crt')),
        key: fs.readFileSync(path.join(pkiDir, 'admin.key')),
        headers: payload === undefined ? {} : { 'content-type': contentType },
        timeout: 5000,
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

async function isReadyz(state: Pick<State, 'ports'>): Promise<boolean> {
  try {
    const r = await apiRequest(state, 'GET', '/readyz');
    return r.status === 200 && r.body.trim() === 'ok';
  } catch {
    return false;
  }
}

interface NodeList {
  items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[];
}

async function readyNodes(state: Pick<State, 'ports'>): Promise<string[]> {
  try {
    const r = await apiRequest(state, 'GET', `/api/v1/nodes?labelSelector=type%3Dkwok`);
    if (r.status !== 200) return [];
    const list = JSON.parse(r.body) as NodeList;
    return list.items
      .filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      .map((n) => n.metadata.name);
  } catch {
    return [];
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, state: State, deadline: number): Promise<void> {
  for (;;) {
    if (await check()) return;
    const procs = processState(state);
    const dead = COMPONENTS.filter((c) => state.pids[c] !== undefined && procs[c] === 'stopped');
    if (dead.length > 0) {
      throw new Error(`${dead.join(', ')} exited while waiting for ${what}; see ${dead.map((d) => path.join(logDir, `${d}.log`)).join(' ')}`);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; logs in ${logDir}`);
    await sleep(200);
  }
}

async function createNodes(state: State): Promise<void> {
  for (const name of NODE_NAMES) {
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        annotations: { [KWOK_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
        labels: {
          type: 'kwok',
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
        },
      },
      spec: {},
      status: {
        allocatable: { cpu: '32', memory: '128Gi', pods: '110', 'ephemeral-storage': '1Ti' },
        capacity: { cpu: '32', memory: '128Gi', pods: '110', 'ephemeral-storage': '1Ti' },
      },
    };
    const r = await apiRequest(state, 'POST', '/api/v1/nodes', node);
    if (r.status !== 201 && r.status !== 409) throw new Error(`creating node ${name}: HTTP ${r.status} ${r.body}`);
  }
}

// ---------------------------------------------------------------- commands

function kwokConfig(): string {
  const containerLog = path.join(stateDir, 'kwok', 'container.log');
  fs.mkdirSync(path.dirname(containerLog), { recursive: true });
  // CRI log format, as a kubelet stores container logs; served for every container of every pod.
  const t = new Date().toISOString();
  fs.writeFileSync(
    containerLog,
    `${t} stdout F simulated container started by kwok (k8smgr testenv)\n` +
      `${t} stdout F this log is the same for every simulated container\n`,
  );
  const clusterLogs = [
    'apiVersion: kwok.x-k8s.io/v1alpha1',
    'kind: ClusterLogs',
    'metadata:',
    '  name: k8smgr-all-containers',
    'spec:',
    '  logs:',
    `  - logsFile: ${JSON.stringify(containerLog)}`,
    `    previousLogsFile: ${JSON.stringify(containerLog)}`,
  ].join('\n');
  const file = path.join(stateDir, 'kwok.yaml');
  fs.writeFileSync(file, fs.readFileSync(path.join(testenvDir, 'kwok-stages.yaml'), 'utf8') + '\n---\n' + clusterLogs + '\n');
  return file;
}

async function up(): Promise<void> {
  const start = Date.now();
  const existing = readState();
  if (existing !== undefined) {
    const procs = processState(existing);
    const allRunning = COMPONENTS.every((c) => procs[c] === 'running');
    if (allRunning && (await isReadyz(existing)) && (await readyNodes(existing)).length > 0) {
      log(`already up and healthy: ${existing.server} (KUBECONFIG=${existing.kubeconfig})`);
      return;
    }
    log('a previous instance is not healthy; stopping it and starting afresh');
    await stopProcesses(existing);
  }
  cleanStateDir();

  const binDir = buildBinaries();
  const buildDone = Date.now();
  fs.mkdirSync(logDir, { recursive: true });
  generatePki();
  const ports = await pickPorts();
  const server = `https://127.0.0.1:${ports.apiserver}`;
  const state: State = {
    stateDir,
    binDir,
    startedAt: new Date().toISOString(),
    server,
    kubeconfig: kubeconfigPath,
    ports,
    pids: {},
    nodes: NODE_NAMES,
  };
  const save = (): void => fs.writeFileSync(statePath, JSON.stringify(state, null, 2) + '\n');

  writeKubeconfig(kubeconfigPath, server, 'k8smgr-admin', 'admin');
  const kcmKubeconfig = path.join(stateDir, 'kube-controller-manager.kubeconfig');
  const schedKubeconfig = path.join(stateDir, 'kube-scheduler.kubeconfig');
  const kwokKubeconfig = path.join(stateDir, 'kwok.kubeconfig');
  writeKubeconfig(kcmKubeconfig, server, 'system:kube-controller-manager', 'kube-controller-manager');
  writeKubeconfig(schedKubeconfig, server, 'system:kube-scheduler', 'kube-scheduler');
  writeKubeconfig(kwokKubeconfig, server, 'kwok-controller', 'kwok');
  const pki = (f: string): string => path.join(pkiDir, f);
  const deadline = Date.now() + READY_TIMEOUT_MS;

  try {
    const etcdUrl = `http://127.0.0.1:${ports.etcdClient}`;
    const peerUrl = `http://127.0.0.1:${ports.etcdPeer}`;
    state.pids.etcd = startProcess(binDir, 'etcd', [
      '--name=testenv',
      `--data-dir=${etcdDataDir}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=testenv=${peerUrl}`,
      '--unsafe-no-fsync', // throwaway test data: don't wait on the disk
      '--log-level=warn',
    ]);
    save();
    log(`etcd pid ${state.pids.etcd} on ${etcdUrl}`);

    state.pids['kube-apiserver'] = startProcess(binDir, 'kube-apiserver', [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${ports.apiserver}`,
      `--tls-cert-file=${pki('apiserver.crt')}`,
      `--tls-private-key-file=${pki('apiserver.key')}`,
      `--client-ca-file=${pki('ca.crt')}`,
      `--kubelet-client-certificate=${pki('apiserver-kubelet-client.crt')}`,
      `--kubelet-client-key=${pki('apiserver-kubelet-client.key')}`,
      '--kubelet-preferred-address-types=InternalIP,Hostname',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki('sa.pub')}`,
      `--service-account-signing-key-file=${pki('sa.key')}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--authorization-mode=Node,RBAC',
      '--allow-privileged=true',
      // Endpoints may not point at loopback, and nothing in the cluster dials the apiserver's service.
      '--endpoint-reconciler-type=none',
      '--profiling=false',
    ]);
    save();
    log(`kube-apiserver pid ${state.pids['kube-apiserver']} on ${server}`);
    await waitFor('kube-apiserver /readyz', () => isReadyz(state), state, deadline);
    log(`kube-apiserver ready after ${seconds(buildDone)}`);

    state.pids['kube-controller-manager'] = startProcess(binDir, 'kube-controller-manager', [
      `--kubeconfig=${kcmKubeconfig}`,
      `--authentication-kubeconfig=${kcmKubeconfig}`,
      `--authorization-kubeconfig=${kcmKubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.controllerManager}`,
      '--leader-elect=false',
      '--controllers=*',
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${pki('sa.key')}`,
      `--root-ca-file=${pki('ca.crt')}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--allocate-node-cidrs=false',
      '--profiling=false',
    ]);
    state.pids['kube-scheduler'] = startProcess(binDir, 'kube-scheduler', [
      `--kubeconfig=${schedKubeconfig}`,
      `--authentication-kubeconfig=${schedKubeconfig}`,
      `--authorization-kubeconfig=${schedKubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.scheduler}`,
      '--leader-elect=false',
      '--profiling=false',
    ]);
    state.pids.kwok = startProcess(binDir, 'kwok', [
      `--kubeconfig=${kwokKubeconfig}`,
      `--config=${kwokConfig()}`,
      '--manage-all-nodes=false',
      `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
      '--node-ip=127.0.0.1',
      `--node-port=${ports.kwok}`,
      `--server-address=127.0.0.1:${ports.kwok}`,
      `--tls-cert-file=${pki('kwok-serving.crt')}`,
      `--tls-private-key-file=${pki('kwok-serving.key')}`,
      `--cidr=${POD_CIDR}`,
      '--node-lease-duration-seconds=40',
    ]);
    save();
    log(
      `kube-controller-manager pid ${state.pids['kube-controller-manager']}, kube-scheduler pid ${state.pids['kube-scheduler']}, ` +
        `kwok pid ${state.pids.kwok}`,
    );

    await createNodes(state);
    await waitFor('a Ready node', async () => (await readyNodes(state)).length > 0, state, deadline);
    log(`node Ready after ${seconds(buildDone)}`);
    // Pods need the namespace's default ServiceAccount: wait until the controllers are at work.
    await waitFor(
      'the default ServiceAccount',
      async () => (await apiRequest(state, 'GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200,
      state,
      deadline,
    );
  } catch (err) {
    log(`failed: ${(err as Error).message}; stopping what was started`);
    await stopProcesses(state);
    throw err;
  }
  log(`up in ${seconds(start)} (${seconds(buildDone)} after the build step): ${server}`);
  log(`export KUBECONFIG=${kubeconfigPath}`);
}

function cleanStateDir(): void {
  // Everything but the logs: etcd data, certificates, kubeconfigs, state.json.
  if (!fs.existsSync(stateDir)) return;
  for (const entry of fs.readdirSync(stateDir)) {
    if (entry === 'logs') continue;
    fs.rmSync(path.join(stateDir, entry), { recursive: true, force: true });
  }
}

async function down(): Promise<void> {
  const state = readState();
  if (state === undefined) {
    log(`nothing to stop (no ${statePath})`);
  } else {
    await stopProcesses(state);
    log(`stopped ${COMPONENTS.filter((c) => state.pids[c] !== undefined).join(', ')}`);
  }
  cleanStateDir();
  log(`removed the data in ${stateDir} (logs kept in ${logDir})`);
}

async function status(): Promise<number> {
  const state = readState();
  if (state === undefined) {
    log(`not up (no ${statePath}); run \`npm run cluster -- up\``);
    return 1;
  }
  const procs = processState(state);
  const portOf: Record<Component, string> = {
    etcd: `client ${state.ports.etcdClient}, peer ${state.ports.etcdPeer}`,
    'kube-apiserver': `${state.ports.apiserver}`,
    'kube-controller-manager': `${state.ports.controllerManager}`,
    'kube-scheduler': `${state.ports.scheduler}`,
    kwok: `${state.ports.kwok}`,
  };
  for (const c of COMPONENTS) {
    console.log(`${c.padEnd(24)} ${procs[c].padEnd(8)} pid ${String(state.pids[c] ?? '-').padEnd(8)} 127.0.0.1 port ${portOf[c]}`);
  }
  const ready = await isReadyz(state);
  const nodes = ready ? await readyNodes(state) : [];
  console.log(`apiserver ${state.server} readyz: ${ready ? 'ok' : 'NOT ready'}; Ready nodes: ${nodes.join(', ') || 'none'}`);
  console.log(`state dir ${state.stateDir}; logs ${logDir}; binaries ${state.binDir}`);
  console.log(`export KUBECONFIG=${state.kubeconfig}`);
  return ready && nodes.length > 0 && COMPONENTS.every((c) => procs[c] === 'running') ? 0 : 1;
}

function env(): void {
  console.log(`export KUBECONFIG=${kubeconfigPath}`);
}

async function main(): Promise<number> {
  const cmd = process.argv[2];
  switch (cmd) {
    case 'up':
      await up();
      return 0;
    case 'down':
      await down();
      return 0;
    case 'status':
      return status();
    case 'env':
      env();
      return 0;
    default:
      console.error('usage: npm run cluster -- up|down|status|env   (state dir: $K8SMGR_TESTENV_DIR or .testenv)');
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`cluster: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
