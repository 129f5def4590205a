// Logging: the handlers and their configuration, a level per handler, the log test.
/* global document */
import { api } from './api.js';
import { cell, clear, h, notify } from './dom.js';

const $ = (id) => document.getElementById(id);

export function initLogging() {
  $('logging-refresh').addEventListener('click', () => void loadLogging());
  $('logtest').addEventListener('click', async () => {
    try {
      await api('logging/logtest', { method: 'POST', body: {} });
      notify('Log test sent: one message at each level (Logtest: TRACE … CRITICAL).');
    } catch (err) {
      notify(`Log test failed: ${err.message}`, true);
    }
  });
}

export async function loadLogging() {
  try {
    show(await api('logging'));
  } catch (err) {
    notify(`Logging: ${err.message}`, true);
  }
}

let levels = [];

function show(data) {
  if (data.levels) levels = data.levels;
  const tbody = clear($('logging-table').querySelector('tbody'));
  for (const handler of data.handlers) {
    const id = `level-${handler.type}`;
    const select = h('select', { id, 'aria-label': `Level of the ${handler.type} handler` },
      levels.map((l) => h('option', { value: l.value, selected: l.value === handler.configuration.level }, `${l.value} ${l.name}`)));
    const apply = h('button', { type: 'button', class: 'small', onclick: () => void setLevel(handler.type, Number(select.value)) }, 'Set level');
    const active = handler.active ? h('span', { class: 'state state-active' }, 'active') : h('span', { class: 'state state-error' }, 'inactive');
    tbody.append(h('tr', { dataset: { handler: handler.type } },
      h('th', { scope: 'row' }, handler.type),
      h('td', {}, h('label', { for: id, class: 'visually-hidden' }, `Level of ${handler.type}`), select, ' ', apply),
      h('td', {}, active, handler.error ? h('span', { class: 'why' }, handler.error) : null,
        handler.stats ? h('span', { class: 'why' }, `queued ${handler.stats.queued ?? 0}, dropped ${handler.stats.dropped ?? 0}, failed ${handler.stats.failed ?? 0}`) : null),
      cell(h('code', {}, JSON.stringify(handler.configuration)))));
  }
}

async function setLevel(type, level) {
  try {
    show(await api(`logging/${encodeURIComponent(type)}`, { method: 'PATCH', body: { level } }));
    notify(`Level of the ${type} handler set to ${level}.`);
  } catch (err) {
    notify(`Could not set the level of ${type}: ${err.message}`, true);
  }
}
