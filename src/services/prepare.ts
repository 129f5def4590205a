// Finds and renders a service's template for one start (or update): the I/O of
// reading the template folder, then the pure templates/ pipeline. Shared by the
// API and `k8smgr render`.
import type { Config } from '../config/schema.js';
import type { ManagerEnv } from '../config/env.js';
import { credentialDir, prepareStart, prepareUpdate, templateSettingsFromConfig, type PreparedService } from '../templates/index.js';
import { locateServiceDir, readServiceFolder } from '../templates/files.js';
import { startLabels } from './anchor.js';

export interface PrepareRequest {
  credential: string;
  servername: string;
  startId: string;
  service: string;
  userId: number;
  userOptions: Record<string, unknown>;
  /** Site keywords of this start (flavors). */
  keywords?: Record<string, string>;
}

/** Throws TemplateError for an unknown service, a bad template or a refused user option. */
export async function prepareService(cfg: Config, env: ManagerEnv, req: PrepareRequest, which: 'start' | 'update'): Promise<PreparedService> {
  const dir = await locateServiceDir(cfg.services.descriptions, credentialDir(req.credential, cfg.services.credential_mapping), req.service);
  const files = await readServiceFolder(dir, {
    root: cfg.services.descriptions,
    stage: env.stage,
    credential: req.credential,
    skipStage: cfg.services.skip.stage,
    skipCredential: cfg.services.skip.credential,
    ignore: cfg.services.descriptions_ignore_files,
  });
  const input = {
    files,
    settings: templateSettingsFromConfig(cfg.services),
    stage: env.stage,
    credential: req.credential,
    servername: req.servername,
    startId: req.startId,
    userId: req.userId,
    namespace: env.serviceNamespace,
    deploymentName: env.deploymentName,
    userOptions: req.userOptions,
    extraKeywords: req.keywords,
    labels: startLabels(env.deploymentName, {
      servername: req.servername, start_id: req.startId, jhub_credential: req.credential, jhub_user_id: req.userId,
    }),
  };
  return which === 'start' ? prepareStart(input) : prepareUpdate(input);
}
