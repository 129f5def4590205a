// The JupyterHub Outpost API's room: the face over the services engine and its
// pure parts (identity, request, address, settings). See docs/outpost.md.
export { OutpostFace, type OutpostApi, type OutpostEngine, type OutpostServiceView } from './face.js';
export { outpostProblems, credentialSettings } from './settings.js';
export { engineIdentity } from './identity.js';
export { ADDRESS_ANNOTATION, serviceAddress } from './address.js';
