// A real browser for tests: Debian's chromium (apt package `chromium`, see
// scripts/setup.sh) driven by playwright-core, headless, with a fresh profile
// that is deleted afterwards. No browser is downloaded. A missing chromium is an
// error that says how to install it: these tests never skip.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Messages the page logged to its console, and uncaught page errors. */
  console: string[];
  close(): Promise<void>;
}

export async function launchBrowser(opts: { width?: number; height?: number } = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`chromium not found at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or run scripts/setup.sh)`);
  }
  // A fresh --user-data-dir: playwright passes it for a persistent context.
  const profile = mkdtempSync(path.join(tmpdir(), 'k8smgr-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 },
      timeout: 60_000,
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw new Error(`chromium at ${CHROMIUM} did not start: ${(err as Error).message}`, { cause: err });
  }
  const page = context.pages()[0] ?? (await context.newPage());
  const messages: string[] = [];
  page.on('console', (m) => messages.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => messages.push(`pageerror: ${e.message}`));
  return {
    context,
    page,
    console: messages,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
