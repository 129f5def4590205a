// Writes deploy/k8smgr.yaml: the Helm chart deploy/chart/k8smgr rendered with its
// default values (npm run deploy:manifests). test/integration/chart.test.ts fails
// while the file differs from what this renders.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot, runOk } from '../testenv/tools.js';

export const MANIFESTS_PATH = 'deploy/k8smgr.yaml';
export const RELEASE = 'k8smgr';
export const NAMESPACE = 'k8smgr';

const HEADER = `# K8s Manager in namespace "${NAMESPACE}": users' services, credentials and log config all
# in that namespace, 2 replicas, no hub credential and no service description yet.
#
# GENERATED from the Helm chart deploy/chart/k8smgr with its default values:
#   helm template ${RELEASE} deploy/chart/k8smgr --namespace ${NAMESPACE}
# Do not edit by hand: change the chart, then run \`npm run deploy:manifests\`
# (test/integration/chart.test.ts fails while this file is out of date).
# Installing with Helm is the better way (docs/deploy.md); to use this file:
#   kubectl create namespace ${NAMESPACE}
#   kubectl apply -f deploy/k8smgr.yaml
`;

/** The text of deploy/k8smgr.yaml as the chart renders it now. */
export function renderManifests(): string {
  const rendered = runOk('helm', ['template', RELEASE, 'deploy/chart/k8smgr', '--namespace', NAMESPACE], { cwd: repoRoot });
  return `${HEADER}${rendered.startsWith('---') ? '' : '---\n'}${rendered}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  writeFileSync(path.join(repoRoot, MANIFESTS_PATH), renderManifests());
  console.log(`wrote ${MANIFESTS_PATH}`);
}
