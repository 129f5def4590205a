// Hubs: credentials with groups, token ids and times (never a secret); create
// a token (shown once, in a dialog) and revoke one.
/* global document, navigator */
import { api } from './api.js';
import { confirmAction } from './confirm.js';
import { cell, clear, h, notify, when } from './dom.js';

const $ = (id) => document.getElementById(id);

export function initHubs() {
  $('hubs-refresh').addEventListener('click', () => void loadHubs());
  const dialog = $('token-dialog');
  const forget = () => {
    // The token leaves the page with the dialog.
    $('token-value').value = '';
  };
  // Forgotten at once on "Done" (the dialog's close event comes a task later), and on Escape.
  $('token-done').addEventListener('click', () => {
    forget();
    dialog.close();
  });
  dialog.addEventListener('close', forget);
  $('token-copy').addEventListener('click', async () => {
    const input = $('token-value');
    input.select();
    try {
      await navigator.clipboard.writeText(input.value);
      notify('Token copied.');
    } catch {
      notify('Select the token and copy it (Ctrl+C).');
    }
  });
}

export async function loadHubs() {
  let data;
  try {
    data = await api('hubs');
  } catch (err) {
    notify(`Hubs: ${err.message}`, true);
    return;
  }
  const tbody = clear($('hubs-table').querySelector('tbody'));
  for (const c of data.credentials) {
    const tokens = c.tokens.length
      ? h('ul', { class: 'tokens' }, c.tokens.map((t) => h('li', { dataset: { token: t.id } },
        h('code', {}, t.id),
        h('span', { class: 'why' }, `created ${when(t.created)}${t.lastRequest ? `, last request ${when(t.lastRequest)}` : ', no request seen'}`),
        h('button', { type: 'button', class: 'small', 'aria-label': `Revoke token ${t.id} of ${c.name}`, onclick: () => void revoke(c.name, t.id) }, 'Revoke'))))
      : '';
    tbody.append(h('tr', { dataset: { credential: c.name } },
      h('th', { scope: 'row' }, c.name),
      cell(c.groups.join(', ')),
      cell(c.hasPassword ? 'yes' : 'no'),
      cell(tokens),
      cell(c.lastRequest ? when(c.lastRequest) : ''),
      cell(when(c.updated)),
      h('td', {}, h('button', { type: 'button', 'aria-label': `Create a token for ${c.name}`, onclick: () => void create(c.name) }, 'Create token'))));
  }
}

async function create(name) {
  let answer;
  try {
    answer = await api(`hubs/${encodeURIComponent(name)}/tokens`, { method: 'POST', body: {} });
  } catch (err) {
    notify(`Could not create a token for ${name}: ${err.message}`, true);
    return;
  }
  $('token-credential').textContent = name;
  $('token-value').value = answer.token;
  $('token-dialog').showModal();
  $('token-value').select();
  notify(`Token ${answer.id} created for ${name}.`);
  await loadHubs();
}

async function revoke(name, id) {
  if (!(await confirmAction(`Revoke token ${id} of ${name}? A hub that uses it gets 401 from now on.`, 'Revoke token'))) return;
  try {
    await api(`hubs/${encodeURIComponent(name)}/tokens/${encodeURIComponent(id)}`, { method: 'DELETE' });
    notify(`Token ${id} of ${name} revoked.`);
  } catch (err) {
    notify(`Could not revoke token ${id}: ${err.message}`, true);
  }
  await loadHubs();
}
