// Userjobs (SSH forwards to HPC job nodes) and Replicas.
/* global document */
import { api } from './api.js';
import { cell, clear, h, notify, stateBadge, when } from './dom.js';

const $ = (id) => document.getElementById(id);

export function initUserjobs() {
  $('userjobs-refresh').addEventListener('click', () => void loadUserjobs());
  $('replicas-refresh').addEventListener('click', () => void loadReplicas());
}

export async function loadUserjobs() {
  let data;
  try {
    data = await api('userjobs');
  } catch (err) {
    notify(`Userjobs: ${err.message}`, true);
    return;
  }
  const tbody = clear($('userjobs-table').querySelector('tbody'));
  if (!data.enabled) tbody.append(h('tr', {}, h('td', { colspan: 8, class: 'empty' }, 'Userjobs are disabled in this manager.')));
  else if (!data.userjobs.length) tbody.append(h('tr', {}, h('td', { colspan: 8, class: 'empty' }, 'No userjobs.')));
  for (const u of data.userjobs) {
    const ports = Object.entries(u.ports).map(([port, nodePort]) => `${port} → ${u.local_ports[port] ?? '?'} → ${nodePort}`).join(', ');
    tbody.append(h('tr', { dataset: { service: u.service } },
      cell(u.credential),
      cell(u.service),
      cell(u.hostname),
      cell(u.target_node),
      cell(ports, { class: 'mono' }),
      h('td', {}, stateBadge(u.state), u.details?.detailed_error ? h('span', { class: 'why' }, u.details.detailed_error) : null),
      cell(when(u.created)),
      cell(when(data.systems[u.hostname]?.last_restart ?? ''))));
  }
  const systems = clear($('systems-table').querySelector('tbody'));
  const entries = Object.entries(data.systems);
  if (!entries.length) systems.append(h('tr', {}, h('td', { colspan: 5, class: 'empty' }, 'No control master started yet.')));
  for (const [system, st] of entries) {
    systems.append(h('tr', { dataset: { system } },
      h('th', { scope: 'row' }, system),
      h('td', {}, stateBadge(st.up ? 'up' : 'down'), st.pid ? ` pid ${st.pid}` : ''),
      cell(String(st.restarts), { class: 'num' }),
      cell(st.last_restart ? when(st.last_restart) : st.restarts ? 'unknown' : ''),
      cell(st.last_error ?? '')));
  }
}

export async function loadReplicas() {
  let data;
  try {
    data = await api('replicas');
  } catch (err) {
    notify(`Replicas: ${err.message}`, true);
    return;
  }
  // A process id is `<replica>_<process>`: the name and the process's random id apart.
  const processName = (id) => {
    const at = id.lastIndexOf('_');
    return at > 0 ? `${id.slice(0, at)} (process ${id.slice(at + 1)})` : id;
  };
  const count = data.replicas.length;
  $('replicas-mode').textContent = data.mode === 'single replica'
    ? 'Single replica: this process serves alone (no replica source configured).'
    : `${count} ${count === 1 ? 'process' : 'processes'}${data.leaseHolder ? `; ${processName(data.leaseHolder)} holds the Lease` : '; no Lease holder known'}.`;
  const self = data.self;
  clear($('replica-self')).append(
    h('dt', {}, 'This replica'), h('dd', {}, self.name),
    h('dt', {}, 'Process'), h('dd', {}, `${self.process ? `${self.process}: ` : ''}pid ${self.pid}, started ${when(self.started)}`),
    h('dt', {}, 'Version'), h('dd', {}, self.version),
    h('dt', {}, 'Deployment'), h('dd', {}, `${self.deployment} (services in namespace ${self.namespace})`));
  const tbody = clear($('replicas-table').querySelector('tbody'));
  for (const r of data.replicas) {
    tbody.append(h('tr', { dataset: { process: r.process ?? '' } },
      h('th', { scope: 'row' }, r.name),
      cell(r.process ? `${r.process}${r.pid ? ` (pid ${r.pid})` : ''}` : '', { class: 'mono' }),
      cell(r.self ? 'yes' : 'no'),
      cell(r.live === undefined ? (r.ready === undefined ? '' : r.ready ? 'yes' : 'no') : r.live ? 'yes' : 'gone'),
      cell(r.holdsLease === undefined ? (data.mode === 'single replica' ? 'no Lease (single replica)' : '') : r.holdsLease ? 'yes' : 'no'),
      cell(r.lastSeen ? when(r.lastSeen) : '')));
  }
}
