// SVG chart of memory against context length (log2 x axis), stacked by component, with a dashed
// line at the usable memory of the chosen GPU setup and a marker at the chosen context.
import { esc, GIB } from "./fmt.js";
import { PARTS } from "./render.js";

const M = { top: 28, right: 16, bottom: 44, left: 52 };

function niceStep(max, ticks) {
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw);
}

function tokensLabel(tokens) {
  return tokens >= 1048576 ? `${tokens / 1048576}M` : tokens >= 1024 ? `${tokens / 1024}k` : String(tokens);
}

/** The chart's SVG markup for a result (needs result.curve); "" when there is no curve. */
export function chartSvg(result, f, gpuName, width = 640) {
  const W = Math.round(Math.min(900, Math.max(300, width)));
  const H = Math.round(Math.min(320, Math.max(240, W * 0.5)));
  const points = (result.curve || []).filter((p) => p.context > 0).sort((a, b) => a.context - b.context);
  if (points.length < 2) return "";
  const lo = Math.log2(points[0].context);
  const hi = Math.log2(points[points.length - 1].context);
  const capacity = result.fit.capacity_bytes * result.fit.gpus; // the curve sums every GPU
  const top = Math.max(capacity, ...points.map((p) => p.total_bytes)) / GIB * 1.08;
  const step = niceStep(top, 5);
  const x = (ctx) => M.left + ((Math.log2(ctx) - lo) / (hi - lo || 1)) * (W - M.left - M.right);
  const y = (gib) => H - M.bottom - (gib / (Math.ceil(top / step) * step)) * (H - M.top - M.bottom);
  const yMax = Math.ceil(top / step) * step;

  const areas = [];
  const base = points.map(() => 0);
  for (const part of PARTS) {
    const upper = points.map((p, i) => base[i] + p[`${part}_bytes`] / GIB);
    const path = points.map((p, i) => `${x(p.context).toFixed(1)},${y(upper[i]).toFixed(1)}`)
      .concat(points.map((p, i) => `${x(p.context).toFixed(1)},${y(base[i]).toFixed(1)}`).reverse());
    areas.push(`<polygon class="area c-${part}" points="${path.join(" ")}"><title>${esc(f.t(`result.${part}`))}</title></polygon>`);
    upper.forEach((v, i) => { base[i] = v; });
  }

  const grid = [];
  for (let v = 0; v <= yMax + 1e-9; v += step) {
    grid.push(`<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}"></line>`
      + `<text class="tick-label" x="${M.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${f.num(v, step < 1 ? 1 : 0)}</text>`);
  }
  const every = (hi - lo) / (W / 64) > 1 ? 2 : 1;
  for (let e = Math.ceil(lo); e <= Math.floor(hi); e += every) {
    const px = x(2 ** e).toFixed(1);
    grid.push(`<line class="grid" x1="${px}" x2="${px}" y1="${M.top}" y2="${H - M.bottom}"></line>`
      + `<text class="tick-label" x="${px}" y="${H - M.bottom + 16}" text-anchor="middle">${tokensLabel(2 ** e)}</text>`);
  }

  const capY = y(capacity / GIB);
  const capLabel = f.t("result.chart_capacity", { count: result.fit.gpus, gpu: gpuName, capacity: f.gib(capacity) });
  const cap = capacity / GIB <= yMax
    ? `<line class="cap-line" x1="${M.left}" x2="${W - M.right}" y1="${capY.toFixed(1)}" y2="${capY.toFixed(1)}"></line>`
      + `<text class="cap-label" x="${W - M.right - 4}" y="${(capY - 6).toFixed(1)}" text-anchor="end">${esc(capLabel)}</text>` : "";
  const ctx = result.request && result.request.context;
  const marker = ctx && Math.log2(ctx) >= lo && Math.log2(ctx) <= hi
    ? `<line class="ctx-marker" x1="${x(ctx).toFixed(1)}" x2="${x(ctx).toFixed(1)}" y1="${M.top}" y2="${H - M.bottom}"></line>` : "";
  const axes = `<text class="axis-label" x="${(M.left + W - M.right) / 2}" y="${H - 6}" text-anchor="middle">${esc(f.t("result.chart_x"))}</text>`
    + `<text class="axis-label" x="${M.left - 6}" y="${M.top - 12}" text-anchor="end">${esc(f.t("result.chart_y"))}</text>`;
  const legend = PARTS.map((part) => `<li class="c-${part}"><span class="swatch" aria-hidden="true"></span>${esc(f.t(`result.${part}`))}</li>`).join("");
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="chart-heading" aria-describedby="chart-desc" focusable="false">`
    + `${grid.join("")}${areas.join("")}${cap}${marker}${axes}</svg><ul class="legend chart-legend" aria-hidden="true">${legend}</ul>`;
}
