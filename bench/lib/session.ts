// One bench session: the cluster place (namespace + node), a counting proxy in
// front of the apiserver, the manager's config (templates of bench/templates,
// one start-up credential), and the manager started through the proxy.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startCountingProxy, type CountingProxy } from '../../test/helpers/counting-proxy.js';
import { basic } from '../../test/helpers/manager.js';
import { benchCluster, repoRoot, type BenchCluster } from './cluster.js';
import { startBenchManager, type BenchManager } from './manager.js';

export const CREDENTIAL = 'benchhub';
export const PASSWORD = 'bench-password-not-secret-1';
export const INSTANCE = 'k8smgr';

export interface Session {
  bc: BenchCluster;
  proxy: CountingProxy;
  tmp: string;
  auth: string;
  /** Starts a fresh manager (through the proxy); `label` names its log file. */
  startManager(label: string, opts?: { profileDir?: string; direct?: boolean; readyTimeoutMs?: number }): Promise<BenchManager>;
  close(): Promise<void>;
}

export async function openSession(label: string, opts: { logDir: string }): Promise<Session> {
  const bc = await benchCluster(label);
  const proxy = await startCountingProxy(bc.kc);
  const tmp = mkdtempSync(path.join(tmpdir(), `k8smgr-bench-${label}-`));
  const proxyKubeconfig = path.join(tmp, 'kubeconfig-proxy');
  proxy.writeKubeconfig(proxyKubeconfig);
  mkdirSync(path.join(tmp, 'skel', CREDENTIAL), { recursive: true });
  writeFileSync(path.join(tmp, 'skel', CREDENTIAL, 'hello.txt'), 'hi');
  const configPath = path.join(tmp, 'config.json');
  writeFileSync(configPath, JSON.stringify({
    services: { descriptions: path.join(repoRoot, 'bench/templates/descriptions'), base: path.join(tmp, 'rendered') },
    userhomes: { base: path.join(tmp, 'homes'), skel: path.join(tmp, 'skel') },
    startup: { create_user: { [CREDENTIAL]: ['access_to_webservice'] } },
  }));
  const managers = new Set<BenchManager>();
  return {
    bc,
    proxy,
    tmp,
    auth: basic(CREDENTIAL, PASSWORD),
    async startManager(name, o = {}) {
      const nodeArgs = o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`, `--cpu-prof-name=${label}-${name}.cpuprofile`] : [];
      const m = await startBenchManager({
        // direct: straight to the apiserver over TLS, as in production (no request counts then).
        kubeconfigPath: o.direct ? bc.kubeconfigPath : proxyKubeconfig,
        namespace: bc.namespace,
        configPath,
        logFile: path.join(opts.logDir, `manager-${label}-${name}.log`),
        env: { BENCHHUB_USER_PASS: PASSWORD },
        nodeArgs,
        ...(o.readyTimeoutMs ? { readyTimeoutMs: o.readyTimeoutMs } : {}),
      });
      managers.add(m);
      const stop = m.stop.bind(m);
      m.stop = async (signal) => {
        managers.delete(m);
        return stop(signal);
      };
      return m;
    },
    async close() {
      for (const m of [...managers]) await m.stop();
      await proxy.close();
      await bc.cleanup();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}
