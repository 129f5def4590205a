/**
 * Template settings from config `services` (documented keys and defaults). Pure.
 */
import { DEFAULT_DEPLOYMENT_MAIN_NAME_PREFIX } from './names.js';
import { checkIndicators, keywordNamesFromConfig, type KeywordNames } from './replace.js';
import { DEFAULT_ENV_SKIP } from './secrets.js';

export interface TemplateSettings {
  /** services.yaml_filename */
  yamlFilename: string;
  /** services.yaml_filename_update */
  yamlFilenameUpdate: string;
  /** the user-options declaration beside the template (our extension) */
  optionsFilename: string;
  /** services.input_dir */
  inputDir: string;
  /** services.deployment_main_name_prefix */
  deploymentMainNamePrefix: string;
  /** services.replace.indicators */
  indicators: readonly [string, string];
  /** services.replace.*_keyword */
  keywordNames: KeywordNames;
  /** services.replace.stage / credential / stage_credential */
  replaceStage: Record<string, unknown>;
  replaceCredential: Record<string, unknown>;
  replaceStageCredential: Record<string, unknown>;
  /** services.skip.stage / services.skip.credential */
  skipStage: string[];
  skipCredential: string[];
  /** services.descriptions_ignore_files */
  ignore: string[];
  /** services.env / services.env_skip */
  extraEnv: Record<string, unknown>;
  envSkip: string[];
}

function rec(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function str(v: unknown, def: string): string {
  return typeof v === 'string' && v !== '' ? v : def;
}

function strList(v: unknown, def: readonly string[]): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [...def];
}

export function defaultTemplateSettings(): TemplateSettings {
  return templateSettingsFromConfig({});
}

/** Reads config `services` (unknown shape; wrong types fall back to the defaults). */
export function templateSettingsFromConfig(services: unknown): TemplateSettings {
  const s = rec(services);
  const replace = rec(s.replace);
  const skip = rec(s.skip);
  const indicators = Array.isArray(replace.indicators) ? checkIndicators(replace.indicators as string[]) : checkIndicators(undefined);
  return {
    yamlFilename: str(s.yaml_filename, 'service.yaml'),
    yamlFilenameUpdate: str(s.yaml_filename_update, 'update.yaml'),
    optionsFilename: str(s.options_filename, 'options.yaml'),
    inputDir: str(s.input_dir, 'input'),
    deploymentMainNamePrefix: typeof s.deployment_main_name_prefix === 'string' ? s.deployment_main_name_prefix : DEFAULT_DEPLOYMENT_MAIN_NAME_PREFIX,
    indicators,
    keywordNames: keywordNamesFromConfig(replace),
    replaceStage: rec(replace.stage),
    replaceCredential: rec(replace.credential),
    replaceStageCredential: rec(replace.stage_credential),
    skipStage: strList(skip.stage, []),
    skipCredential: strList(skip.credential, []),
    ignore: strList(s.descriptions_ignore_files, []),
    extraEnv: rec(s.env),
    envSkip: strList(s.env_skip, DEFAULT_ENV_SKIP),
  };
}
