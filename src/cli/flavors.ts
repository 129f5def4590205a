// `k8smgr flavors import FILE --credential NAME...`: a JupyterHub Outpost's
// flavors file as the `flavors` section of config.json, printed (JSON) for the
// admin to merge; what cannot be expressed is refused with the reasons.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ImportError, importOutpostFlavors } from '../flavors/import.js';

const HELP = `k8smgr flavors import FILE --credential NAME [--credential NAME ...] [--semantics outpost|k8smgr] [--global-max-per-user N]

Prints {"flavors": {<credential>: ...}} for config.json from a JupyterHub Outpost's
flavors.yaml (keys flavors, hubs, users; also nested under a helm "flavors:" key).
  --credential           the hub credential(s) (an Outpost's jupyterhub_name) to write a section for
  --semantics outpost    (default) behave as on the Outpost: the first matching hubs set applies,
                         a matched user's rule starts from every flavor
  --semantics k8smgr     the heaviest matching hubs set applies; a rule narrows the hub's offer
  --global-max-per-user  the Outpost's c.JupyterHubOutpost.global_max_per_user (not in the file)
See docs/flavors.md.`;

export async function runFlavorsCli(args: string[], io: { out: (s: string) => void; err: (s: string) => void } = { out: (s) => console.log(s), err: (s) => console.error(s) }): Promise<number> {
  const [command, ...rest] = args;
  if (command !== 'import') {
    (command === undefined || command === '--help' ? io.out : io.err)(HELP);
    return command === undefined || command === '--help' ? 0 : 2;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      credential: { type: 'string', multiple: true, default: [] },
      semantics: { type: 'string', default: 'outpost' },
      'global-max-per-user': { type: 'string' },
    },
  });
  const [file] = positionals;
  if (!file || positionals.length > 1 || (values.semantics !== 'outpost' && values.semantics !== 'k8smgr')) {
    io.err(HELP);
    return 2;
  }
  const max = values['global-max-per-user'];
  try {
    const result = importOutpostFlavors(await readFile(file, 'utf8'), {
      credentials: values.credential ?? [],
      semantics: values.semantics,
      ...(max !== undefined ? { globalMaxPerUser: Number(max) } : {}),
    });
    for (const note of result.notes) io.err(`note: ${note}`);
    io.out(JSON.stringify({ flavors: result.flavors }, null, 2));
    return 0;
  } catch (err) {
    if (err instanceof ImportError) {
      io.err(err.message);
      return 1;
    }
    throw err;
  }
}
