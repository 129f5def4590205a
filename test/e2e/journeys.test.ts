// User journeys through a real JupyterHub (EventBackendSpawner) against K8s Manager on
// the real control plane, driven through the hub's REST API exactly as a user's browser
// drives it (test/e2e/journeys.ts): stop and start again at once, double clicks, stops
// while a start is pending or still on its way, failure causes in the progress stream,
// named servers, a server that crashes after it was ready. The hub or the manager killed
// mid-spawn: journeys-restarts.test.ts; many users at once: journeys-many.test.ts; two
// replicas behind a load balancer: journeys-replicas.test.ts. Prints a table of the journeys.
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { waitFor } from '../helpers/cluster.js';
import { basic } from '../helpers/manager.js';
import { basicJourneys, journey, journeys, OTHER_PASSWORD, PASSWORD, Site, type HubEvent } from './journeys.js';

const j = await journeys();

describe('one manager', () => {
  const site = new Site(j);
  before(async () => site.up(1));
  after(async () => site.down());

  basicJourneys(site, 'j');

  journey('j5 failure causes reach the hub in their own words within 2 s of the Kubernetes event', async () => {
    const u = await site.user('jfive');
    const cases: Array<{ server: string; service: string; reason: RegExp; words: RegExp }> = [
      { server: 'crash', service: 'jupyterlab/fail', reason: /BackOff/, words: /Back-off|BackOff/ },
      { server: 'pull', service: 'jupyterlab/pullfail', reason: /^(Failed|BackOff)$/, words: /pull|ErrImagePull|ImagePullBackOff/i },
      { server: 'nowhere', service: 'jupyterlab/unschedulable', reason: /FailedScheduling/, words: /nodes are available|node\(s\)|didn't match/ },
    ];
    const delays: string[] = [];
    for (const c of cases) {
      assert.ok([201, 202].includes(await site.spawn(u, c.server, c.service)));
      let eventSeen = 0;
      let failedSeen = 0;
      let failedEvent: HubEvent | undefined;
      const deadline = Date.now() + 90_000;
      while ((!eventSeen || !failedSeen) && Date.now() < deadline) {
        if (!eventSeen) {
          const events = await j.core.listNamespacedEvent({ namespace: j.namespace, fieldSelector: 'involvedObject.kind=Pod,type=Warning' });
          if (events.items.some((e) => e.involvedObject.name?.startsWith(`depl-jfive-${c.server}`) && c.reason.test(e.reason ?? ''))) eventSeen = Date.now();
        }
        if (!failedSeen) {
          failedEvent = (await site.events(u, c.server)).find((e) => e.failed);
          if (failedEvent) failedSeen = Date.now();
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(eventSeen, `${c.server}: no Warning event ${c.reason} in the namespace${site.logs()}`);
      assert.ok(failedEvent, `${c.server}: no failed progress event in the hub${site.logs()}`);
      assert.match(failedEvent.html_message ?? '', c.words, `${c.server}: the cause's words in the hub: ${failedEvent.html_message}`);
      const delay = failedSeen - eventSeen;
      delays.push(`${c.server} ${delay} ms`);
      assert.ok(delay <= 2000, `${c.server}: the hub heard of the failure ${delay} ms after the Kubernetes event`);
      await site.waitGone(u, c.server);
    }
    console.log(`failure cause delays (Kubernetes event seen -> hub progress event seen): ${delays.join(', ')}`);
  });

  journey('j8 two named servers of one user; another hub credential sees none of them', async () => {
    const u = await site.user('jeight');
    assert.ok([201, 202].includes(await site.spawn(u, 'a')));
    assert.ok([201, 202].includes(await site.spawn(u, 'b')));
    await site.waitReady(u, 'a');
    await site.waitReady(u, 'b');
    assert.equal((await j.deployments('jeight-')).length, 2);
    const mine = await fetch(`${site.managers[0]!.url}/api/services/`, { headers: { authorization: basic('jupyterhub', PASSWORD) } });
    const names = ((await mine.json()) as Array<{ servername: string }>).map((s) => s.servername).filter((n) => n.startsWith('jeight-'));
    assert.equal(names.length, 2);
    const other = { authorization: basic('otherhub', OTHER_PASSWORD) };
    const list = await fetch(`${site.managers[0]!.url}/api/services/`, { headers: other });
    assert.equal(list.status, 200);
    assert.deepEqual(((await list.json()) as unknown[]).length, 0, 'the other hub lists nothing');
    for (const name of names) {
      assert.equal((await fetch(`${site.managers[0]!.url}/api/services/${name}/`, { headers: other })).status, 404);
      assert.equal((await fetch(`${site.managers[0]!.url}/api/services/${name}/`, { method: 'DELETE', headers: other })).status, 404);
    }
    await site.staysReady(u, 'a', 2000);
    await site.stop(u, 'a');
    await site.stop(u, 'b');
    await site.nothingLeft('jeight-');
  });

  journey('j10 a server that crashes after it was ready: the hub sees it stopped, the manager removes it, the next start is fresh', async () => {
    const u = await site.user('jten');
    assert.ok([201, 202].includes(await site.spawn(u, 'lab')));
    await site.waitReady(u, 'lab');
    const auth = { authorization: basic('jupyterhub', PASSWORD) };
    const servername = await site.servername('jten-lab');
    // Ready in the hub: now the container crashes (kwok's crash stage, docs/development.md), at once
    // rather than N s after it started, which a loaded machine could reach before the hub saw it ready.
    const pods = (await j.core.listNamespacedPod({ namespace: j.namespace })).items.filter((p) => p.metadata?.name?.startsWith('depl-jten-lab'));
    assert.equal(pods.length, 1, pods.map((p) => p.metadata?.name).join(', '));
    await j.objects.patch({ apiVersion: 'v1', kind: 'Pod', metadata: { name: pods[0]!.metadata!.name!, namespace: j.namespace, annotations: { 'k8smgr.test/crash-after-seconds': '0' } } },
      undefined, undefined, 'k8smgr-journeys', undefined, k8s.PatchStrategy.MergePatch);
    // The hub's poll hears "running: false" and drops the server without a DELETE.
    await site.waitGone(u, 'lab', 60_000);
    // The manager removes the workload itself (failed_cleanup_seconds 5 here) ...
    await waitFor(async () => (await j.deployments('jten-lab')).length === 0, { what: 'the crashed workload removed by the manager', timeoutMs: 60_000 })
      .catch((err: Error) => assert.fail(`${err.message}${site.logs()}`));
    // ... and the anchor keeps answering the same failure.
    const answer = (await (await fetch(`${site.managers[0]!.url}/api/services/${servername}/`, { headers: auth })).json()) as { running: boolean; state: string; details: { error: string; detailed_error: string } };
    assert.equal(answer.running, false);
    assert.equal(answer.state, 'failed');
    assert.match(answer.details.error, /terminated|cannot start/);
    assert.match(answer.details.detailed_error, /Events:/);
    // The user's next start gets a fresh, working server.
    assert.ok([201, 202].includes(await site.spawn(u, 'lab')));
    await site.waitReady(u, 'lab');
    await site.staysReady(u, 'lab', 3000);
    await site.stop(u, 'lab');
    await site.nothingLeft('jten-');
  });
});
