// A small horizontal grouped bar chart drawn as inline SVG: one group of bars per row
// (model), one bar per series (metric). Colours come from style.css through the series' class.

const SVG_NS = 'http://www.w3.org/2000/svg';

const WIDTH = 640;
const LABEL_WIDTH = 130; // room for the model names on the left
const VALUE_ROOM = 56; // room for the value printed after the longest bar
const LEGEND_HEIGHT = 28;
const AXIS_HEIGHT = 26;
const BAR_HEIGHT = 14;
const BAR_GAP = 3;
const ROW_GAP = 14;
const TICKS = 4;

function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

// The smallest of 1, 2, 2.5, 5 × 10^n at or above the largest value, so the ticks read well.
function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((m) => m * power >= value);
  return step * power;
}

function formatTick(value) {
  return Number(value.toFixed(4)).toString();
}

/**
 * rows: [{label, values: [number per series]}]; series: [{label, className}].
 * Returns an <svg> element that scales to its container's width.
 */
export function barChart({ rows, series, title, description }) {
  const rowHeight = series.length * (BAR_HEIGHT + BAR_GAP) - BAR_GAP + ROW_GAP;
  const plotTop = LEGEND_HEIGHT;
  const plotHeight = rows.length * rowHeight;
  const height = plotTop + plotHeight + AXIS_HEIGHT;
  const plotWidth = WIDTH - LABEL_WIDTH - VALUE_ROOM;
  const max = niceMax(Math.max(0, ...rows.flatMap((row) => row.values)));
  const x = (value) => LABEL_WIDTH + (Math.max(0, value) / max) * plotWidth;

  const chart = svg('svg', {
    viewBox: `0 0 ${WIDTH} ${height}`, role: 'img', 'aria-labelledby': 'chart-title chart-desc', class: 'bar-chart',
  },
  svg('title', { id: 'chart-title' }, title),
  svg('desc', { id: 'chart-desc' }, description));

  chart.append(legend(series), grid(max, x, plotTop, plotHeight));
  rows.forEach((row, index) => chart.append(rowGroup(row, series, x, plotTop + index * rowHeight)));
  return chart;
}

function legend(series) {
  const group = svg('g', { class: 'legend' });
  series.forEach((s, index) => {
    const left = LABEL_WIDTH + index * 150;
    group.append(
      svg('rect', { x: left, y: 6, width: 12, height: 12, class: s.className }),
      svg('text', { x: left + 18, y: 16 }, s.label));
  });
  return group;
}

function grid(max, x, top, height) {
  const group = svg('g', { class: 'axis' });
  for (let i = 0; i <= TICKS; i += 1) {
    const value = (max * i) / TICKS;
    group.append(
      svg('line', { x1: x(value), x2: x(value), y1: top, y2: top + height, class: 'gridline' }),
      svg('text', { x: x(value), y: top + height + 16, 'text-anchor': 'middle' }, formatTick(value)));
  }
  return group;
}

function rowGroup(row, series, x, top) {
  const group = svg('g', { class: 'row' });
  const middle = top + (series.length * (BAR_HEIGHT + BAR_GAP) - BAR_GAP) / 2;
  group.append(svg('text', { x: LABEL_WIDTH - 8, y: middle + 4, 'text-anchor': 'end', class: 'row-label' }, row.label));
  series.forEach((s, index) => {
    const y = top + index * (BAR_HEIGHT + BAR_GAP);
    const value = row.values[index];
    const bar = svg('rect', {
      x: LABEL_WIDTH, y, width: Math.max(1, x(value) - LABEL_WIDTH), height: BAR_HEIGHT, class: s.className,
    }, svg('title', {}, `${row.label} ${s.label}: ${value.toFixed(4)}`));
    group.append(bar, svg('text', { x: x(value) + 4, y: y + BAR_HEIGHT - 3, class: 'value' }, value.toFixed(3)));
  });
  return group;
}
