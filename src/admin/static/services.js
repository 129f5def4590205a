// Services: the live table (server-sent events, no polling), filter and
// search, the charts, and a service's details with the stop button.
/* global document, EventSource, CustomEvent, CSS, requestAnimationFrame, setTimeout, clearTimeout, setInterval */
import { api } from './api.js';
import { drawActivity, drawStates } from './charts.js';
import { confirmAction } from './confirm.js';
import { age, cell, clear, h, notify, stateBadge, when } from './dom.js';

const rows = new Map();
let activity = { end: Math.floor(Date.now() / 60000), starts: [], failures: [] };
let source;
let renderQueued = false;
let openId = null;
let openStartId = null;
let detailsTimer;

const $ = (id) => document.getElementById(id);

export function initServices() {
  $('filter-search').addEventListener('input', queueRender);
  $('filter-state').addEventListener('change', queueRender);
  for (const button of $('details').querySelectorAll('[data-close]')) button.addEventListener('click', () => $('details').close());
  $('details').addEventListener('close', () => {
    openId = null;
    clearTimeout(detailsTimer);
  });
  $('details-stop').addEventListener('click', () => void stopOpen());
  // Ages and the chart's time axis move on by themselves (no request).
  setInterval(() => {
    if (rows.size) queueRender();
    drawActivity($('chart-activity'), activity);
  }, 30000);
}

export function connectServices() {
  disconnectServices();
  const live = $('live');
  live.textContent = 'connecting…';
  live.className = 'live';
  source = new EventSource('api/stream');
  source.addEventListener('open', () => {
    live.textContent = 'live';
    live.className = 'live on';
  });
  source.addEventListener('snapshot', (e) => {
    const data = JSON.parse(e.data);
    rows.clear();
    for (const row of data.services) rows.set(row.id, row);
    activity = data.activity;
    queueRender();
  });
  source.addEventListener('service', (e) => {
    const { row } = JSON.parse(e.data);
    rows.set(row.id, row);
    queueRender();
    if (row.id === openId) refreshDetailsSoon();
  });
  source.addEventListener('removed', (e) => {
    const { id } = JSON.parse(e.data);
    rows.delete(id);
    queueRender();
    if (id === openId) markGone();
  });
  source.addEventListener('activity', (e) => {
    activity = JSON.parse(e.data).activity;
    drawActivity($('chart-activity'), activity);
  });
  source.addEventListener('logout', () => {
    disconnectServices();
    document.dispatchEvent(new CustomEvent('admin:logged-out'));
  });
  source.addEventListener('error', () => {
    if (!source) return;
    live.textContent = source.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting…';
    live.className = 'live off';
    // Closed for good (e.g. 401 after the session ended): find out whether we are still logged in.
    if (source.readyState === EventSource.CLOSED) void api('session').then(() => setTimeout(connectServices, 3000), () => undefined);
  });
}

export function disconnectServices() {
  source?.close();
  source = undefined;
}

function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function matches(row, text, state) {
  if (state && row.state !== state) return false;
  if (!text) return true;
  const hay = `${row.credential} ${row.api} ${row.servername} ${row.hubServer ?? ''} ${row.hubUser ?? ''} ${row.userId} ${row.service} ${row.node} ${row.state} ${row.startId} ${row.error}`.toLowerCase();
  return text.split(/\s+/).every((word) => hay.includes(word));
}

/** Which API started a service: "Outpost" (with the hub's server name and user) or "seed". */
function apiLabel(row) {
  return row.api === 'outpost' ? `Outpost: ${row.hubUser ? `${row.hubUser}/` : ''}${row.hubServer}` : 'seed';
}

function render() {
  const text = $('filter-search').value.trim().toLowerCase();
  const state = $('filter-state').value;
  const all = [...rows.values()].sort((a, b) => b.started.localeCompare(a.started) || a.id.localeCompare(b.id));
  const shown = all.filter((row) => matches(row, text, state));
  const focused = document.activeElement?.closest?.('tr[data-id]')?.dataset.id;
  const tbody = clear($('services-table').querySelector('tbody'));
  const now = Date.now();
  for (const row of shown) {
    const open = h('button', { type: 'button', class: 'link', 'aria-haspopup': 'dialog', title: 'Details', onclick: () => void openDetails(row.id) }, row.servername);
    tbody.append(h('tr', { dataset: { id: row.id, state: row.state, servername: row.servername, api: row.api } },
      cell(row.credential),
      cell(apiLabel(row), { class: 'api', title: row.api === 'outpost' ? `Outpost API: server "${row.hubServer}" of ${row.hubUser || 'user ' + row.userId}` : 'the seed API (BackendSpawner)' }),
      h('td', {}, open),
      cell(String(row.userId), { class: 'num' }),
      cell(row.service),
      h('td', { title: when(row.started) }, age(row.started, now)),
      cell(row.node),
      h('td', { class: 'state-cell' }, stateBadge(row.state), row.error ? h('span', { class: 'why' }, row.error) : null)));
  }
  if (focused) tbody.querySelector(`tr[data-id="${CSS.escape(focused)}"] button`)?.focus();
  $('services-count').textContent = shown.length === all.length ? `${all.length} services` : `${shown.length} of ${all.length} services`;
  $('services-empty').hidden = shown.length > 0;
  const counts = { starting: 0, running: 0, failed: 0, stopping: 0 };
  for (const row of all) counts[row.state] = (counts[row.state] ?? 0) + 1;
  drawStates($('chart-states'), counts);
  drawActivity($('chart-activity'), activity);
}

// ---- details

async function openDetails(id) {
  openId = id;
  const dialog = $('details');
  $('details-title').textContent = rows.get(id)?.servername ?? id;
  clear($('details-body')).append(h('p', {}, 'Loading…'));
  $('details-stop').disabled = false;
  if (!dialog.open) dialog.showModal();
  await loadDetails(id);
}

function refreshDetailsSoon() {
  clearTimeout(detailsTimer);
  detailsTimer = setTimeout(() => {
    if (openId) void loadDetails(openId);
  }, 400);
}

async function loadDetails(id) {
  let d;
  try {
    d = await api(`services/${encodeURIComponent(id)}`);
  } catch (err) {
    if (id !== openId) return;
    if (err.status === 404) markGone();
    else clear($('details-body')).append(h('p', { class: 'error', role: 'alert' }, err.message));
    return;
  }
  if (id !== openId) return;
  openStartId = d.record.start_id;
  $('details-title').textContent = `${d.record.servername} of ${d.record.jhub_credential}`;
  clear($('details-body')).append(...detailsView(d));
}

function markGone() {
  if (!openId) return;
  $('details-stop').disabled = true;
  $('details-body').prepend(h('p', { class: 'notice', role: 'status' }, 'This service is gone (stopped).'));
}

function detailsView(d) {
  const row = d.row;
  const facts = h('dl', { class: 'facts' },
    h('dt', {}, 'State'), h('dd', { id: 'details-state' }, stateBadge(d.verdict.state)),
    h('dt', {}, 'Credential'), h('dd', {}, d.record.jhub_credential),
    h('dt', {}, 'API'), h('dd', { id: 'details-api' }, d.record.outpost
      ? `JupyterHub Outpost API: server "${d.record.outpost.name}" of ${d.record.outpost.user || 'user ' + d.record.jhub_user_id}, start_id ${d.record.outpost.start_id}${d.record.outpost.async ? ' (async)' : ''}, reached at ${d.record.outpost.service || '—'}`
      : 'seed API (BackendSpawner)'),
    h('dt', {}, 'User id'), h('dd', {}, String(d.record.jhub_user_id)),
    h('dt', {}, 'Service'), h('dd', {}, row.service || '—'),
    h('dt', {}, 'Start id'), h('dd', { class: 'mono' }, d.record.start_id),
    h('dt', {}, 'Started'), h('dd', {}, `${when(d.record.start_date)} (${age(d.record.start_date)} ago)`),
    h('dt', {}, 'Node'), h('dd', {}, row.node || '—'),
    h('dt', {}, 'Namespace'), h('dd', {}, d.record.namespace ?? '—'),
    h('dt', {}, 'User options'), h('dd', { class: 'mono' }, JSON.stringify(d.record.user_options)));
  const parts = [facts];

  parts.push(h('h3', {}, 'What the user saw'));
  if (d.verdict.error || d.verdict.detail) {
    parts.push(h('p', { id: 'details-error', class: d.verdict.state === 'failed' ? 'error' : '' }, d.verdict.error || '—'));
    if (d.verdict.detail) parts.push(h('pre', { class: 'block', id: 'details-detail' }, d.verdict.detail));
  } else {
    parts.push(h('p', { class: 'empty' }, d.verdict.state === 'running' ? 'Running, no error.' : 'No error.'));
  }

  parts.push(h('h3', {}, 'Pod events'));
  if (d.events.length) {
    parts.push(table(['Time', 'Pod', 'Type', 'Reason', 'Message', 'Count'], d.events.map((e) =>
      [when(e.time), e.pod, e.type, e.reason, e.message, String(e.count)]), 'details-events'));
  } else parts.push(h('p', { class: 'empty' }, 'No events.'));

  parts.push(h('h3', {}, 'Pods'));
  if (d.pods.length) {
    parts.push(table(['Pod', 'Phase', 'Node', 'Containers'], d.pods.map((p) =>
      [p.name, p.phase, p.node, p.containers.map((c) => `${c.name} (${c.image}): ${c.state}, ${c.restarts} restarts`).join('\n')])));
  } else parts.push(h('p', { class: 'empty' }, 'No pods (yet).'));

  parts.push(h('h3', {}, 'Objects created'));
  parts.push(table(['Kind', 'Name', 'API version'], d.objects.map((o) => [o.kind, o.name, o.apiVersion]), 'details-objects'));

  parts.push(h('h3', {}, 'Progress events sent to the hub'));
  if (d.progress && d.progress.length) {
    parts.push(table(['Time', 'Progress', 'Summary'], d.progress.map((p) => [when(p.at), p.progress === null ? '' : `${p.progress} %`, p.summary]), 'details-progress'));
  } else parts.push(h('p', { class: 'empty' }, 'None recorded.'));

  parts.push(h('h3', {}, 'Rendered manifests'));
  const rendered = d.rendered;
  if (rendered.missing) parts.push(h('p', { class: 'empty' }, `${rendered.folder}: ${rendered.missing}.`));
  else {
    parts.push(h('p', { class: 'hint' }, `The copy kept under services.base/${rendered.folder}/ (read-only; data of Secrets masked).`));
    const list = h('div', { id: 'details-rendered' });
    for (const file of rendered.files) {
      list.append(file.content !== undefined
        ? h('details', { class: 'file' }, h('summary', {}, `${file.path} (${file.size} bytes)`), h('pre', { class: 'block' }, file.content))
        : h('p', { class: 'file' }, `${file.path} (${file.size} bytes): ${file.note}`));
    }
    parts.push(list);
  }
  return parts;
}

function table(headers, body, id) {
  return h('div', { class: 'scroll' }, h('table', { id },
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, body.map((cells) => h('tr', {}, cells.map((c) => cell(c)))))));
}

async function stopOpen() {
  const id = openId;
  const row = rows.get(id);
  if (!id) return;
  const name = row ? `${row.servername} of ${row.credential} (user ${row.userId})` : id;
  if (!(await confirmAction(`Stop ${name}? Every object of this start is deleted; the hub sees the service stopped at its next poll.`, 'Stop service'))) return;
  try {
    await api(`services/${encodeURIComponent(id)}/stop`, { method: 'POST', body: { start_id: openStartId } });
    notify(`Stopped ${name}.`);
    $('details').close();
  } catch (err) {
    notify(`Could not stop ${name}: ${err.message}`, true);
  }
}
