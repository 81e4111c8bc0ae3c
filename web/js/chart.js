// SVG chart of memory against context length (log2 x axis), stacked by component, with a dashed
// line at the usable memory of the chosen GPU setup and a marker at the chosen context.  Drawn
// from view.chart (calc/present.py chart): numbers in GiB and labels already written.
import { esc } from "./fmt.js";

const M = { top: 28, right: 16, bottom: 44, left: 52 };
const TICK_SPACING = 64; // px of width per x tick before every other one is dropped

/** The chart's SVG markup for a chart view at `width` px; "" when there is no chart. */
export function chartSvg(chart, width = 640) {
  if (!chart) return "";
  const W = Math.round(Math.min(900, Math.max(300, width)));
  const H = Math.round(Math.min(320, Math.max(240, W * 0.5)));
  const { points, y_max: yMax } = chart;
  const lo = Math.log2(points[0][0]);
  const hi = Math.log2(points[points.length - 1][0]);
  const x = (ctx) => M.left + ((Math.log2(ctx) - lo) / (hi - lo || 1)) * (W - M.left - M.right);
  const y = (gib) => H - M.bottom - (gib / yMax) * (H - M.top - M.bottom);

  const areas = [];
  const base = points.map(() => 0);
  chart.parts.forEach(({ part, label }, k) => {
    const upper = points.map((p, i) => base[i] + p[k + 1]);
    const path = points.map((p, i) => `${x(p[0]).toFixed(1)},${y(upper[i]).toFixed(1)}`)
      .concat(points.map((p, i) => `${x(p[0]).toFixed(1)},${y(base[i]).toFixed(1)}`).reverse());
    areas.push(`<polygon class="area c-${part}" points="${path.join(" ")}"><title>${esc(label)}</title></polygon>`);
    upper.forEach((v, i) => { base[i] = v; });
  });

  const grid = chart.y_ticks.map(([v, label]) => `<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}"></line>`
    + `<text class="tick-label" x="${M.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${esc(label)}</text>`);
  const every = (hi - lo) / (W / TICK_SPACING) > 1 ? 2 : 1;
  chart.x_ticks.forEach(([tokens, label], i) => {
    if (i % every) return;
    const px = x(tokens).toFixed(1);
    grid.push(`<line class="grid" x1="${px}" x2="${px}" y1="${M.top}" y2="${H - M.bottom}"></line>`
      + `<text class="tick-label" x="${px}" y="${H - M.bottom + 16}" text-anchor="middle">${esc(label)}</text>`);
  });

  const capY = y(chart.capacity);
  const cap = chart.capacity <= yMax
    ? `<line class="cap-line" x1="${M.left}" x2="${W - M.right}" y1="${capY.toFixed(1)}" y2="${capY.toFixed(1)}"></line>`
      + `<text class="cap-label" x="${W - M.right - 4}" y="${(capY - 6).toFixed(1)}" text-anchor="end">${esc(chart.capacity_label)}</text>` : "";
  const ctx = chart.context;
  const marker = ctx && Math.log2(ctx) >= lo && Math.log2(ctx) <= hi
    ? `<line class="ctx-marker" x1="${x(ctx).toFixed(1)}" x2="${x(ctx).toFixed(1)}" y1="${M.top}" y2="${H - M.bottom}"></line>` : "";
  const axes = `<text class="axis-label" x="${(M.left + W - M.right) / 2}" y="${H - 6}" text-anchor="middle">${esc(chart.x_label)}</text>`
    + `<text class="axis-label" x="${M.left - 6}" y="${M.top - 12}" text-anchor="end">${esc(chart.y_label)}</text>`;
  const legend = chart.parts.map(({ part, label }) => `<li class="c-${part}"><span class="swatch" aria-hidden="true"></span>${esc(label)}</li>`).join("");
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="chart-heading" aria-describedby="chart-desc" focusable="false">`
    + `${grid.join("")}${areas.join("")}${cap}${marker}${axes}</svg><ul class="legend chart-legend" aria-hidden="true">${legend}</ul>`;
}
