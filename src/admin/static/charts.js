// Two small charts as inline SVG: services by state, and starts / failures per
// minute over the last hour. Each has a text equivalent (title and desc).
import { clear, h, s } from './dom.js';

const STATES = ['starting', 'running', 'failed', 'stopping'];

export function drawStates(container, counts) {
  const width = 300;
  const rowHeight = 22;
  const labelWidth = 70;
  const max = Math.max(1, ...STATES.map((st) => counts[st] ?? 0));
  const summary = STATES.map((st) => `${st} ${counts[st] ?? 0}`).join(', ');
  const svg = s('svg', {
    width, height: rowHeight * STATES.length + 4, viewBox: `0 0 ${width} ${rowHeight * STATES.length + 4}`,
    role: 'img', 'aria-labelledby': 'chart-states-title chart-states-desc', id: 'chart-states-svg',
  },
  s('title', { id: 'chart-states-title' }, 'Services by state'),
  s('desc', { id: 'chart-states-desc' }, summary));
  STATES.forEach((st, i) => {
    const n = counts[st] ?? 0;
    const y = i * rowHeight + 2;
    const barWidth = Math.round(((width - labelWidth - 40) * n) / max);
    svg.append(
      s('text', { x: 0, y: y + 14 }, st),
      s('rect', { x: labelWidth, y: y + 3, width: Math.max(barWidth, n > 0 ? 2 : 0), height: rowHeight - 8, rx: 2, class: `bar-${st}` }),
      s('text', { x: labelWidth + barWidth + 6, y: y + 14, 'data-state': st, class: 'count' }, String(n)),
    );
  });
  clear(container).append(svg);
}

/** `series`: {end, starts[60], failures[60]} with `end` the epoch minute of the last bucket. */
export function drawActivity(container, series, now = Date.now()) {
  const minutes = 60;
  const shift = Math.max(0, Math.floor(now / 60000) - series.end);
  const align = (list) => [...list.slice(Math.min(shift, minutes)), ...new Array(Math.min(shift, minutes)).fill(0)];
  const starts = align(series.starts);
  const failures = align(series.failures);
  const width = 420;
  const height = 110;
  const top = 14;
  const bottom = 18;
  const left = 24;
  const plot = height - top - bottom;
  const max = Math.max(1, ...starts, ...failures);
  const slot = (width - left - 4) / minutes;
  const total = (list) => list.reduce((a, b) => a + b, 0);
  const summary = `In the last hour: ${total(starts)} starts and ${total(failures)} failures; most in one minute: ${Math.max(0, ...starts)} starts, ${Math.max(0, ...failures)} failures.`;
  const svg = s('svg', {
    width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-labelledby': 'chart-activity-title chart-activity-desc', id: 'chart-activity-svg',
    'data-starts': total(starts), 'data-failures': total(failures),
  },
  s('title', { id: 'chart-activity-title' }, 'Starts and failures per minute, last hour'),
  s('desc', { id: 'chart-activity-desc' }, summary),
  s('line', { x1: left, y1: top + plot, x2: width, y2: top + plot, class: 'axis' }),
  s('line', { x1: left, y1: top, x2: left, y2: top + plot, class: 'axis' }),
  s('text', { x: 0, y: top + 4 }, String(max)),
  s('text', { x: 0, y: top + plot }, '0'),
  s('text', { x: left, y: height - 4 }, '−60 min'),
  s('text', { x: width - 24, y: height - 4 }, 'now'));
  for (let i = 0; i < minutes; i++) {
    const x = left + 2 + i * slot;
    const bar = (value, offset, cls) => {
      if (!value) return;
      const barHeight = Math.max(2, Math.round((plot * value) / max));
      svg.append(s('rect', { x: x + offset, y: top + plot - barHeight, width: Math.max(1, slot / 2 - 0.5), height: barHeight, class: cls }));
    };
    bar(starts[i], 0, 'bar-starts');
    bar(failures[i], slot / 2, 'bar-failures');
  }
  const legend = h('div', { class: 'legend', 'aria-hidden': 'true' },
    h('span', {}, h('span', { class: 'swatch swatch-starts' }), `starts (${total(starts)})`),
    h('span', {}, h('span', { class: 'swatch swatch-failures' }), `failures (${total(failures)})`));
  clear(container).append(svg, legend);
}
