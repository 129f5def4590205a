// createUserjobs(deps): everything `k8smgr serve` needs for /api/userjobs/:
// the API (src/http registers its routes), start (watch, restore, supervise),
// stop, and the hook for a stopped user service.
import type { ServiceRecord } from '../services/types.js';
import { UserjobManager, type UserjobsDeps } from './manager.js';

export type { UserjobsDeps, UserjobApi } from './manager.js';
export { UserjobManager } from './manager.js';
export { UserjobsConfigSchema, type UserjobsSettings } from './settings.js';
export type { UserjobView } from './objects.js';

export interface Userjobs {
  /** Watches the userjob Services, forwards the saved ones again, supervises. Bounded in time. */
  start(): Promise<void>;
  /** Ends supervision and the control masters. */
  stop(): Promise<void>;
  /** A user service was stopped: end its userjob now (ServiceObserver.stopped). */
  onServiceStopped(record: Pick<ServiceRecord, 'jhub_credential' | 'servername'>): void;
  /** The API of /api/userjobs/ (pass as buildApp's `userjobs`) and the status. */
  manager: UserjobManager;
}

export function createUserjobs(deps: UserjobsDeps): Userjobs {
  const manager = new UserjobManager(deps);
  return {
    start: () => manager.start(),
    stop: () => manager.stop(),
    onServiceStopped: (record) => {
      void manager.onServiceStopped(record).catch((err: unknown) =>
        deps.logger.error({ uuidcode: record.servername, err: (err as Error).message }, 'ending the userjob of a stopped service failed'),
      );
    },
    manager,
  };
}
