// Result panel and spec card from an estimate result.  Mirrors web/templates/_result.html.j2
// (the build-time rendering); tests/browser compares the two.
import { esc } from "./fmt.js";

export const PARTS = ["weights", "kv_cache", "activations", "overhead"];
export const SPEC_KEYS = ["architecture", "attention", "attention_layers", "context_length", "layers", "hidden_size", "attention_heads",
  "kv_heads", "head_dim", "experts_total", "experts_active", "sliding_window", "vocab_size", "activation",
  "normalization", "position_embedding", "license", "release_date"];

/** The label of a code the core puts on the spec card (values.<kind>.<code>), or the code itself. */
function label(f, kind, code) {
  return f.has(`values.${kind}.${code}`) ? f.t(`values.${kind}.${code}`) : String(code);
}

/** One spec-card value as shown, or null when the model has none.  _result.html.j2 spec_value does the same. */
export function specValue(spec, key, f) {
  const value = spec[key];
  if (key === "attention_layers") {
    const kinds = Object.entries(value || {});
    if (kinds.length < 2) return null;
    return kinds.map(([kind, n]) => f.t("spec.layer_count", { n: f.num(n), kind: label(f, "layer_kind", kind) })).join(" + ");
  }
  if (value === null || value === undefined || value === "") return null;
  if (key === "position_embedding") {
    const base = label(f, key, value);
    return spec.rope_scaling ? `${base} (${label(f, "rope_scaling", spec.rope_scaling)})` : base;
  }
  if (["architecture", "attention", "activation", "normalization"].includes(key)) return label(f, key, value);
  return typeof value === "number" ? f.num(value) : String(value);
}

/** The URL in a source entry (a URL, or text that contains one), or null. */
export function sourceUrl(source) {
  if (!source) return null;
  const text = typeof source === "string" ? source : source.url || "";
  const match = /https?:\/\/\S+/.exec(text);
  return match ? match[0] : null;
}

/** The source of one spec fact, where the core names one (spec.fact_sources, or spec.sources as a mapping). */
export function factSource(spec, key) {
  const sources = spec.fact_sources || (Array.isArray(spec.sources) ? null : spec.sources);
  return sources ? sourceUrl(sources[key]) : null;
}

/** Every distinct source URL of the spec card. */
export function sourceList(spec) {
  const sources = spec.sources || [];
  const entries = Array.isArray(sources) ? sources : Object.values(sources);
  return [...new Set(entries.map(sourceUrl).filter(Boolean))];
}

function barSvg(memory, fit) {
  const capacity = fit.capacity_bytes * fit.gpus; // the bar sums every GPU, so it is set against all of them
  const scale = Math.max(memory.total_bytes, capacity);
  let x = 0;
  const segments = PARTS.map((part) => {
    const w = scale ? (1000 * memory[`${part}_bytes`]) / scale : 0;
    const rect = `<rect class="seg c-${part}" x="${x.toFixed(2)}" y="0" width="${w.toFixed(2)}" height="32"></rect>`;
    x += w;
    return rect;
  }).join("");
  const cap = (scale ? (1000 * capacity) / scale : 0).toFixed(2);
  return `<svg class="bar" viewBox="0 0 1000 32" preserveAspectRatio="none" aria-hidden="true" focusable="false">`
    + `<rect class="bar-bg" x="0" y="0" width="1000" height="32"></rect>${segments}`
    + `<line class="bar-cap" x1="${cap}" x2="${cap}" y1="0" y2="32"></line></svg>`;
}

/** The measured range of the total (result.range), or why there is none.  _result.html.j2 says the same. */
function rangeText(result, f) {
  const r = result.range;
  const engine = result.engine.label;
  return r ? f.t("result.range", { low: f.gib(r.low_bytes, 2), high: f.gib(r.high_bytes, 2), n: f.num(r.comparisons), engine })
    : f.t("result.range_none", { engine });
}

/** The HTML of the result body (headline, fit, bar, legend, facts, warnings, recommendations). */
export function resultHtml(result, f, gpuNames) {
  const { memory, fit } = result;
  const fitParams = {
    count: fit.gpus, gpu: gpuNames[fit.gpu] || fit.gpu, used: f.gib(fit.used_bytes),
    capacity: f.gib(fit.capacity_bytes), headroom: f.gib(fit.headroom_bytes),
  };
  const legend = PARTS.map((part) => `<li class="c-${part}"><span class="swatch" aria-hidden="true"></span>`
    + `<span class="legend-label">${esc(f.t(`result.${part}`))}</span> <span class="legend-value">`
    + `<span data-out="${part}">${f.gib(memory[`${part}_bytes`])}</span> ${esc(f.t("result.unit"))}</span></li>`).join("");
  const whole = result.max_context && result.max_context === result.max_context_limit;
  const maxContext = result.max_context
    ? f.t(whole ? "result.max_context_all" : "result.max_context_value", { tokens: f.num(result.max_context) })
    : f.t("result.max_context_none");
  const tps = result.speed && result.speed.decode_tokens_per_s;
  const speed = tps ? f.t("result.speed_value", { tps: f.num(tps, 1) }) : f.t("result.speed_none");
  const warnings = (result.warnings || []).map((w) => `<li data-code="${esc(w.code)}">${esc(w.text)}</li>`).join("");
  const recs = (result.recommendations || []).map((rec) => `<li data-gpu="${esc(rec.gpu)}" data-count="${rec.count}">`
    + `<span class="rec-name">${esc(f.t("result.rec_item", { count: rec.count, name: rec.name }))}</span> `
    + `<span class="rec-detail">${esc(f.t("result.rec_detail", { capacity: f.gib(rec.capacity_bytes), headroom: f.pct(rec.headroom_fraction) }))}</span></li>`).join("");
  return `<div class="headline"><span class="headline-label">${esc(f.t("result.vram"))}</span> `
    + `<span class="headline-value"><span data-out="total" elementtiming="vram">${f.gib(memory.total_bytes)}</span> <span class="unit">${esc(f.t("result.unit"))}</span></span></div>`
    + `<p class="range" data-out="range">${esc(rangeText(result, f))}</p>`
    + `<p class="fit ${fit.fits ? "fit-yes" : "fit-no"}" data-out="fit">${esc(f.t(fit.fits ? "result.fits" : "result.no_fit", fitParams))}</p>`
    + barSvg(memory, fit)
    + `<ul class="legend" aria-label="${esc(f.t("result.breakdown"))}">${legend}</ul>`
    + `<dl class="facts"><div><dt>${esc(f.t("result.max_context"))}</dt><dd data-out="max-context">${esc(maxContext)}</dd></div>`
    + `<div><dt>${esc(f.t("result.speed"))}</dt><dd data-out="speed">${esc(speed)}</dd></div></dl>`
    + `<section class="warnings"${warnings ? "" : " hidden"}><h3>${esc(f.t("result.warnings"))}</h3><ul id="warnings">${warnings}</ul></section>`
    + `<section class="recs"><h3>${esc(f.t("result.recs"))}</h3>`
    + (recs ? `<ol id="recs">${recs}</ol>` : `<p class="hint">${esc(f.t("result.recs_none"))}</p>`) + `</section>`;
}

/** The HTML of the spec card for result.model. */
export function specHtml(model, f) {
  const spec = model.spec || {};
  const billions = (n, official) => f.t("spec.billions", { n: f.num(n / 1e9, 1) })
    + (official ? ` (${f.t("spec.official", { text: official })})` : "");
  const rows = [
    `<div><dt>${esc(f.t("spec.total_params"))}</dt><dd data-spec="total_params">${esc(billions(model.total_params, model.official_total_text))}</dd></div>`,
    `<div><dt>${esc(f.t("spec.active_params"))}</dt><dd data-spec="active_params">${esc(billions(model.active_params, model.official_active_text))}</dd></div>`,
  ];
  for (const key of SPEC_KEYS) {
    const value = specValue(spec, key, f);
    if (value === null) continue;
    const src = factSource(spec, key);
    const link = src ? ` <a class="src" href="${esc(src)}" rel="noopener" title="${esc(f.t("spec.source"))}: ${esc(src)}">[${esc(f.t("spec.source"))}]</a>` : "";
    rows.push(`<div><dt>${esc(f.t(`spec.${key}`))}</dt><dd data-spec="${key}">${esc(value)}${link}</dd></div>`);
  }
  const list = sourceList(spec);
  const sources = list.length ? `<p class="sources">${esc(f.t("spec.sources"))} `
    + list.map((s) => `<a href="${esc(s)}" rel="noopener">${esc(s.replace("https://", ""))}</a>`).join(", ") + `</p>` : "";
  return `<h2 id="spec-heading">${esc(f.t("spec.heading"))} <span class="model-name" data-out="model-name">${esc(model.name)}</span></h2>`
    + (model.custom ? `<p class="hint">${esc(f.t("spec.custom"))}</p>` : "")
    + `<dl class="spec-list">${rows.join("")}</dl>${sources}`;
}
