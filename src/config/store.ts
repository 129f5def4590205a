// Holds the current config: loads CONFIG_PATH, re-reads it when it changes
// (also when a mounted ConfigMap swaps its symlink) and keeps the last good
// config when a new version is broken.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { watchFile, unwatchFile, type Stats } from 'node:fs';
import { EventEmitter } from 'node:events';
import { parseConfig, ConfigError, DEFAULT_CONFIG } from './parse.js';
import type { Config } from './schema.js';

export interface ConfigStatus {
  source: string;
  loadedAt: string;
  /** Set while the file on disk is broken and the last good config is in use. */
  lastError: string | null;
}

export class ConfigStore extends EventEmitter<{ change: [Config]; error: [ConfigError]; warn: [string] }> {
  #config: Config = DEFAULT_CONFIG;
  #status: ConfigStatus;

  constructor(readonly path: string | undefined) {
    super();
    this.#status = { source: path ?? '(built-in defaults)', loadedAt: new Date().toISOString(), lastError: null };
  }

  get current(): Config {
    return this.#config;
  }

  get status(): Readonly<ConfigStatus> {
    return this.#status;
  }

  /** First load: a broken file is fatal here (there is no last good config yet). */
  async load(): Promise<Config> {
    if (this.path) this.#apply(await this.#read());
    return this.#config;
  }

  /** Re-reads the file; on error keeps the current config and records why. */
  async reload(): Promise<boolean> {
    if (!this.path) return false;
    try {
      this.#apply(await this.#read());
      this.emit('change', this.#config);
      return true;
    } catch (err) {
      const error = err instanceof ConfigError ? err : new ConfigError(String((err as Error).message), []);
      this.#status = { ...this.#status, lastError: error.message };
      this.emit('error', error);
      return false;
    }
  }

  /** Polls the file's stat (follows symlinks, so ConfigMap updates are seen too). */
  watch(intervalMs = 1000): void {
    if (!this.path) return;
    const path = this.path;
    watchFile(path, { interval: intervalMs, persistent: false }, (cur: Stats, prev: Stats) => {
      if (cur.mtimeMs !== prev.mtimeMs || cur.ino !== prev.ino || cur.size !== prev.size) void this.reload();
    });
  }

  close(): void {
    if (this.path) unwatchFile(this.path);
  }

  async #read() {
    const path = this.path as string;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read CONFIG_PATH ${path}: ${(err as Error).message}`, []);
    }
    return parseConfig(text, path, dirname(resolve(path)));
  }

  #apply(parsed: ReturnType<typeof parseConfig>): void {
    this.#config = parsed.config;
    this.#status = { source: this.#status.source, loadedAt: new Date().toISOString(), lastError: null };
    for (const key of parsed.unknownKeys) this.emit('warn', `unknown config key ignored: ${key}`);
  }
}
