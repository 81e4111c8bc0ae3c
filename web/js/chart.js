// SVG chart of memory against context length (log2 x axis to view.chart.x_max), stacked by
// component, with a dashed line at the usable memory of the chosen GPU setup, a marker at the chosen
// context, labelled marks at the model's window and the longest context that fits, and a focusable
// marker per point whose value shows on hover and focus; chartTable is the same numbers as a table.
// Drawn from view.chart (calc/present.py chart): numbers in GiB and labels already written.
import { esc } from "./fmt.js";

const M = { top: 28, right: 16, bottom: 44, left: 52 };
const TICK_SPACING = 64; // px of width per x tick before every other one is dropped
const LABEL_PX = 11; // font size of the labels in the plot (web/css/site.css .cap-label, .mark-label)

/** About how wide `text` is in bold LABEL_PX px: a wide (CJK) character 1 em, others 0.64 em (DejaVu
 * Sans Bold's average, the wider of the page's fonts), so a label that may not fit is caught. */
function labelWidth(text) {
  return [...text].reduce((w, ch) => w + LABEL_PX * (ch.codePointAt(0) >= 0x2e80 ? 1 : 0.64), 0);
}

/** The chart's SVG markup for a chart view at `width` px; "" when there is no chart. */
export function chartSvg(chart, width = 640) {
  if (!chart) return "";
  const W = Math.round(Math.min(900, Math.max(300, width)));
  const H = Math.round(Math.min(320, Math.max(240, W * 0.5)));
  const { points, y_max: yMax } = chart;
  const lo = Math.log2(chart.x_min);
  const hi = Math.log2(chart.x_max);
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
  // A label wider than the plot (a phone, a long GPU name) would run over the y axis and off the
  // picture: the plot then carries the size alone and the legend the whole label, beside a dashed swatch.
  const capFits = labelWidth(chart.capacity_label) <= W - M.left - M.right - 8;
  const cap = chart.capacity <= yMax
    ? `<line class="cap-line" x1="${M.left}" x2="${W - M.right}" y1="${capY.toFixed(1)}" y2="${capY.toFixed(1)}"></line>`
      + `<text class="cap-label" x="${W - M.right - 4}" y="${(capY - 6).toFixed(1)}" text-anchor="end">${esc(capFits ? chart.capacity_label : chart.capacity_short)}</text>` : "";
  const ctx = chart.context;
  const marker = ctx && Math.log2(ctx) >= lo && Math.log2(ctx) <= hi
    ? `<line class="ctx-marker" x1="${x(ctx).toFixed(1)}" x2="${x(ctx).toFixed(1)}" y1="${M.top}" y2="${H - M.bottom}"></line>` : "";
  const marks = chart.marks.map(({ kind, tokens, label }, i) => {
    const px = x(tokens);
    const right = px > (M.left + W - M.right) / 2; // label on the side with room
    const w = labelWidth(label); // kept inside the plot, clear of the y ticks, if it must cross its line
    const lx = right ? Math.min(W - M.right, Math.max(px - 4, M.left + w)) : Math.max(M.left, Math.min(px + 4, W - M.right - w));
    return `<g class="mark mark-${kind}"><line x1="${px.toFixed(1)}" x2="${px.toFixed(1)}" y1="${M.top}" y2="${H - M.bottom}"></line>`
      + `<text class="mark-label" x="${lx.toFixed(1)}" y="${M.top + 12 + 14 * i}" text-anchor="${right ? "end" : "start"}">${esc(label)}</text></g>`;
  });
  const tips = points.map((p, i) => {
    const total = p.slice(1).reduce((a, b) => a + b, 0);
    const px = x(p[0]);
    const py = y(total);
    const right = px > (M.left + W - M.right) / 2;
    const ty = Math.max(M.top + 40, py - 10);
    const [shown, read] = chart.tips[i];
    return `<g class="pt" tabindex="0" role="img" aria-label="${esc(read)}" data-context="${p[0]}">`
      + `<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="4"></circle>`
      + `<text class="tip" x="${(px + (right ? -8 : 8)).toFixed(1)}" y="${ty.toFixed(1)}" text-anchor="${right ? "end" : "start"}" aria-hidden="true">${esc(shown)}</text></g>`;
  });
  const axes = `<text class="axis-label" x="${(M.left + W - M.right) / 2}" y="${H - 6}" text-anchor="middle">${esc(chart.x_label)}</text>`
    + `<text class="axis-label" x="${M.left - 6}" y="${M.top - 12}" text-anchor="end">${esc(chart.y_label)}</text>`;
  const legend = chart.parts.map(({ part, label }) => `<li class="c-${part}"><span class="swatch" aria-hidden="true"></span>${esc(label)}</li>`).join("")
    + (capFits || chart.capacity > yMax ? "" : `<li class="cap-item"><span class="swatch swatch-cap" aria-hidden="true"></span>${esc(chart.capacity_label)}</li>`);
  return `<svg viewBox="0 0 ${W} ${H}" role="group" aria-labelledby="chart-heading" aria-describedby="chart-desc" focusable="false">`
    + `${grid.join("")}${areas.join("")}${cap}${marker}${marks.join("")}${axes}${tips.join("")}</svg><ul class="legend chart-legend" aria-hidden="true">${legend}</ul>`;
}

/** The chart's numbers as table markup (caption, head, one row per point); "" without a chart. */
export function chartTable(chart) {
  if (!chart) return "";
  const { caption, head, rows } = chart.table;
  return `<table class="chart-table"><caption class="visually-hidden">${esc(caption)}</caption><thead><tr>${head.map((h) => `<th scope="col">${esc(h)}</th>`).join("")}</tr></thead>`
    + `<tbody>${rows.map(([ctx, ...rest]) => `<tr><th scope="row">${esc(ctx)}</th>${rest.map((v) => `<td>${esc(v)}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
}
