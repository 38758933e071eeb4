// A small horizontal grouped bar chart drawn as inline SVG: one group of bars per row
// (model, or day and model), one bar per series (metric), optionally with a whisker for each
// value's interval. Colours come from style.css through the series' class.

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
const LINE_HEIGHT = 13; // between the lines of a row label

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
 * rows: [{label, values: [number per series], intervals?: [[low, high] or null per series]}], where
 * a label is a text or a list of lines; series: [{label, className}].
 * Options: id (unique on the page; names the chart's title and description), format (a value as
 * printed after its bar), formatDetail (a value in its bar's tooltip), formatTick (an axis value).
 * Returns an <svg> element that scales to its container's width.
 */
export function barChart({
  rows, series, title, description, id = 'chart',
  format = (v) => v.toFixed(3), formatDetail = (v) => v.toFixed(4), formatTick: tick = formatTick,
}) {
  const rowHeight = series.length * (BAR_HEIGHT + BAR_GAP) - BAR_GAP + ROW_GAP;
  const plotTop = LEGEND_HEIGHT;
  const plotHeight = rows.length * rowHeight;
  const height = plotTop + plotHeight + AXIS_HEIGHT;
  const plotWidth = WIDTH - LABEL_WIDTH - VALUE_ROOM;
  const highs = rows.flatMap((row) => (row.intervals ?? []).map((interval) => interval?.[1] ?? 0));
  const max = niceMax(Math.max(0, ...rows.flatMap((row) => row.values), ...highs.filter(Number.isFinite)));
  const x = (value) => LABEL_WIDTH + (Math.min(max, Math.max(0, value)) / max) * plotWidth;

  const chart = svg('svg', {
    viewBox: `0 0 ${WIDTH} ${height}`, role: 'img', 'aria-labelledby': `${id}-title ${id}-desc`, class: 'bar-chart',
  },
  svg('title', { id: `${id}-title` }, title),
  svg('desc', { id: `${id}-desc` }, description));

  chart.append(legend(series), grid(max, x, plotTop, plotHeight, tick));
  rows.forEach((row, index) => chart.append(rowGroup(row, series, x, plotTop + index * rowHeight, format, formatDetail)));
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

function grid(max, x, top, height, tick) {
  const group = svg('g', { class: 'axis' });
  for (let i = 0; i <= TICKS; i += 1) {
    const value = (max * i) / TICKS;
    group.append(
      svg('line', { x1: x(value), x2: x(value), y1: top, y2: top + height, class: 'gridline' }),
      svg('text', { x: x(value), y: top + height + 16, 'text-anchor': 'middle' }, tick(value)));
  }
  return group;
}

// A label of several lines is centred on its group of bars, one line under the other.
function rowLabel(label, middle) {
  const lines = Array.isArray(label) ? label : [label];
  const text = svg('text', { x: LABEL_WIDTH - 8, y: middle + 4 - ((lines.length - 1) * LINE_HEIGHT) / 2, 'text-anchor': 'end', class: 'row-label' });
  lines.forEach((line, index) => {
    text.append(index === 0 ? line : svg('tspan', { x: LABEL_WIDTH - 8, dy: LINE_HEIGHT }, line));
  });
  return text;
}

function rowGroup(row, series, x, top, format, formatDetail) {
  const group = svg('g', { class: 'row' });
  const middle = top + (series.length * (BAR_HEIGHT + BAR_GAP) - BAR_GAP) / 2;
  const name = Array.isArray(row.label) ? row.label.join(' · ') : row.label;
  group.append(rowLabel(row.label, middle));
  series.forEach((s, index) => {
    const y = top + index * (BAR_HEIGHT + BAR_GAP);
    const value = row.values[index];
    const interval = row.intervals?.[index];
    const range = interval ? ` (${formatDetail(interval[0])}–${formatDetail(interval[1])})` : '';
    const bar = svg('rect', {
      x: LABEL_WIDTH, y, width: Math.max(1, x(value) - LABEL_WIDTH), height: BAR_HEIGHT, class: s.className,
    }, svg('title', {}, `${name} ${s.label}: ${formatDetail(value)}${range}`));
    group.append(bar);
    let end = x(value);
    if (interval) {
      // The 95% interval as a whisker across the bar's middle, with short caps at both ends.
      const [low, high] = [x(interval[0]), x(interval[1])];
      const mid = y + BAR_HEIGHT / 2;
      group.append(
        svg('line', { x1: low, x2: high, y1: mid, y2: mid, class: 'interval' }),
        svg('line', { x1: low, x2: low, y1: mid - 4, y2: mid + 4, class: 'interval' }),
        svg('line', { x1: high, x2: high, y1: mid - 4, y2: mid + 4, class: 'interval' }));
      end = Math.max(end, high);
    }
    group.append(svg('text', { x: end + 4, y: y + BAR_HEIGHT - 3, class: 'value' }, format(value)));
  });
  return group;
}
