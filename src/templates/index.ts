/**
 * Facade of the template logic: selected service files → rendered objects. Pure
 * (the files come from files.ts `readServiceFolder`, which already applied the
 * contract's selection).
 */
import { TemplateError } from './errors.js';
import { serviceId, startNames, validateServername, validateStartId, type StartNames } from './names.js';
import { startLabels, type KubeObject, type OwnerInfo } from './objects.js';
import { parseOptionsYaml } from './options.js';
import { packInput } from './pack.js';
import { renderManifests } from './render.js';
import { KEYWORDS, renderText, uniqueUserId } from './replace.js';
import { defaultTemplateSettings, type TemplateSettings } from './settings.js';

export interface PrepareInput {
  /** selected files of the service folder (relative posix path → content) */
  files: ReadonlyMap<string, Buffer>;
  settings?: Partial<TemplateSettings> | undefined;
  /** env STAGE */
  stage?: string | undefined;
  /** the jhub credential (API user) */
  credential: string;
  servername: string;
  startId: string;
  userId: string | number;
  /** where the objects go (env DEPLOYMENT_NAMESPACE) */
  namespace: string;
  /** env DEPLOYMENT_NAME (default k8smgr) */
  deploymentName?: string | undefined;
  userOptions?: Readonly<Record<string, unknown>> | undefined;
  /** default: startLabels(...) of this start */
  labels?: Readonly<Record<string, string>> | undefined;
  owner?: OwnerInfo | undefined;
  /** Site keywords of this start (e.g. a flavor's limits), replaced like replace.credential's keys. */
  extraKeywords?: Readonly<Record<string, string>> | undefined;
}

export interface PreparedService {
  id: string;
  names: StartNames;
  labels: Record<string, string>;
  objects: KubeObject[];
  renderedText: string;
  /** the files with the template replaced by its rendered text (for writeRenderedCopy) */
  files: Map<string, Buffer>;
  /** base64 tar.gz of input/ (the `<input>` value) */
  input: string;
}

function asMap(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function prepare(input: PrepareInput, which: 'start' | 'update'): PreparedService {
  const settings = { ...defaultTemplateSettings(), ...input.settings };
  const bad = validateServername(input.servername) ?? validateStartId(input.startId);
  if (bad !== null) throw new TemplateError('bad_value', bad);
  const filename = which === 'start' ? settings.yamlFilename : settings.yamlFilenameUpdate;
  const template = input.files.get(filename);
  if (template === undefined) {
    if (which === 'start') throw new TemplateError('not_found', "Couldn't find service yaml file.");
    throw new TemplateError('no_update', "Couldn't find service update yaml file.");
  }
  const id = serviceId(input.servername, input.startId);
  const deploymentName = input.deploymentName || 'k8smgr';
  const names = startNames({ id, deploymentName, prefix: settings.deploymentMainNamePrefix });
  const keywordNames = { ...settings.keywordNames };
  const declaredOptions = parseOptionsYaml(
    input.files.get(settings.optionsFilename)?.toString('utf8'),
    KEYWORDS.map((k) => keywordNames[k]),
  );
  const inputB64 = packInput(input.files, settings.inputDir);
  const renderedText = renderText(template.toString('utf8'), {
    indicators: settings.indicators,
    keywordNames,
    keywords: {
      id,
      unique_user_id: uniqueUserId(input.credential, input.userId),
      user_id: String(input.userId),
      secret_name: names.envSecret,
      secret_certs_name: names.certsSecret,
      namespace: input.namespace,
      input: inputB64,
    },
    stage: input.stage,
    credential: input.credential,
    replaceStage: settings.replaceStage,
    replaceCredential: input.extraKeywords
      ? { ...settings.replaceCredential, [input.credential]: { ...asMap(settings.replaceCredential?.[input.credential]), ...input.extraKeywords } }
      : settings.replaceCredential,
    replaceStageCredential: settings.replaceStageCredential,
    userOptions: input.userOptions,
    declaredOptions,
  });
  const labels = {
    ...(input.labels ??
      startLabels(deploymentName, {
        servername: input.servername,
        start_id: input.startId,
        jhub_credential: input.credential,
        jhub_user_id: input.userId,
      })),
  };
  const objects = renderManifests(renderedText, { namespace: input.namespace, labels, owner: input.owner });
  const files = new Map(input.files);
  files.set(filename, Buffer.from(renderedText, 'utf8'));
  return { id, names, labels, objects, renderedText, files, input: inputB64 };
}

/** Start: `services.yaml_filename` (default service.yaml); missing → TemplateError('not_found'). */
export function prepareStart(input: PrepareInput): PreparedService {
  return prepare(input, 'start');
}

/** Update: `services.yaml_filename_update` (default update.yaml); missing → TemplateError('no_update'). */
export function prepareUpdate(input: PrepareInput): PreparedService {
  return prepare(input, 'update');
}

export { TemplateError, TEMPLATE_ERROR_STATUS, isTemplateError, type TemplateErrorCode } from './errors.js';
export * from './names.js';
export * from './locate.js';
export * from './select.js';
export * from './options.js';
export * from './replace.js';
export * from './render.js';
export * from './settings.js';
export { packInput, buildInputTar } from './pack.js';
