// A plain-HTTP reverse proxy in front of the apiserver that counts the requests
// passing through it: a manager pointed at it (kubeconfig of writeKubeconfig)
// shows exactly how many Kubernetes API calls it makes, watches included.
import http from 'node:http';
import https from 'node:https';
import { writeFileSync } from 'node:fs';
import type * as k8s from '@kubernetes/client-node';

export interface CountingProxy {
  url: string;
  /** Requests seen so far, as "VERB path" (without the query), with " (watch)" after a watch. */
  requests: string[];
  writeKubeconfig(file: string): void;
  close(): Promise<void>;
}

export async function startCountingProxy(kc: k8s.KubeConfig): Promise<CountingProxy> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster in the kubeconfig');
  const target = new URL(cluster.server);
  const tlsOptions: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(tlsOptions);
  const agent = new https.Agent({ ...tlsOptions, keepAlive: true } as https.AgentOptions);
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    requests.push(`${req.method} ${url.pathname}${url.searchParams.get('watch') === 'true' ? ' (watch)' : ''}`);
    const upstream = https.request(
      {
        ...tlsOptions,
        agent,
        hostname: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        // Send the headers now, as the apiserver does: a watch with no event for 30 s
        // would otherwise hit client-node's 30 s fetch timeout and restart (relist).
        res.flushHeaders();
        up.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(err));
    });
    req.pipe(upstream);
    res.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    requests,
    writeKubeconfig(file: string) {
      writeFileSync(
        file,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          // Plain HTTP on loopback; client-node wants this flag for any non-TLS server.
          clusters: [{ name: 'proxy', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
          users: [{ name: 'proxy', user: {} }],
          contexts: [{ name: 'proxy', context: { cluster: 'proxy', user: 'proxy' } }],
          'current-context': 'proxy',
        }),
      );
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
