// A JupyterHub Outpost's sentences for refused starts, which OutpostSpawner
// shows the user (`Exception: <name> - <sentence>`): the facts come from the
// flavors room (capacity.ts FlavorRefusal), the words are the Outpost's. Pure.
import type { FlavorRefusal } from '../flavors/capacity.js';

/** Python's str() of a list of names: `['small', 'big']`. */
function pythonList(names: readonly string[]): string {
  return `[${names.map((n) => `'${n.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`).join(', ')}]`;
}

export function outpostFlavorWords(refusal: FlavorRefusal): string {
  switch (refusal.kind) {
    case 'not_allowed':
      return `Start with flavor ${refusal.flavor ?? 'None'} not allowed. Allowed values for user: ${pythonList(refusal.allowed)}`;
    case 'user_flavor_full':
      return `Start with flavor ${refusal.flavor} not allowed. Each user may only start ${refusal.maxPerUser} of ${refusal.flavor}`;
    case 'flavor_full':
      return `Start with ${refusal.flavor} for ${refusal.credential} not allowed. Maximum (${refusal.max}) already reached.`;
    case 'user_full':
      return `User with user id ${refusal.userId} of ${refusal.credential} has reached the maximum limit of services (${refusal.userMax})`;
  }
}
