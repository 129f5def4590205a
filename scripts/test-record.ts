// What scripts/run-tests.ts writes of each test file (its --times lines) and the
// record of the last run's file times (node_modules/.cache/k8smgr/test-times.json)
// that orders the next run: shared by run-tests.ts and test-times.ts.
import { readFileSync } from 'node:fs';

/** A line of scripts/run-tests.ts --times. */
export interface FileTime {
  file: string;
  startMs: number;
  endMs: number;
  passed: number;
  failed: number;
}

/** Seconds per test file (relative path) of the last run; empty when there is none yet. */
export function readRecord(file: string | undefined): Record<string, number> {
  if (file === undefined) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>;
  } catch {
    return {};
  }
}
