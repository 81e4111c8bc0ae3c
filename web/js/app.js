// The page controller: form <-> state <-> URL, the worker bridge, rendering and readiness.
// <html data-state="loading|ready|error">; data-busy is present while an estimate is pending.
import { CalcBridge, LIMITS, coalesce } from "./bridge.js";
import { chartSvg, chartTable } from "./chart.js";
import { base64, excerpt, makeStrings } from "./fmt.js";
import { HubError, fetchHub } from "./hub.js";
import { renderResult, renderSpec } from "./render.js";
import { attachSearch } from "./search.js";
import * as S from "./state.js";

const $ = (id) => document.getElementById(id);
const data = (id) => JSON.parse($(id).textContent);
const html = document.documentElement;

const strings = data("ui-strings");
const catalog = data("catalog");
const build = data("build-info");
const f = makeStrings(strings);
const lang = build.lang;
const modelCtx = Object.fromEntries(catalog.models.map((m) => [m.id, m.context_length]));
const defaults = S.defaultState(catalog.defaults);
const query = new URLSearchParams(location.search);
const embed = query.get("embed") === "1";
const form = {
  model: $("model"), config: $("config"), gguf: $("gguf"), hub: $("hub"), rev: $("rev"), file: $("file"), mmproj: $("mmproj"), ggufMmproj: $("gguf-mmproj"), quant: $("quant"), kv: $("kv"),
  engine: $("engine"), ev: $("ev"), slider: $("ctx-slider"), ctx: $("ctx"), batch: $("batch"), gpu: $("gpu"), n: $("n"),
};
const optional = Object.fromEntries(Object.keys(S.OPTIONAL).map((key) => [key, $(key)])); // bpw and engine settings
const machine = Object.fromEntries(Object.keys(S.MACHINE).map((key) => [key, $(key)])); // your machine (issue 14)
const place = $("place"); // auto (like --fit) or manual placement

/** The placement fields take input only when the placement is manual. */
function showPlacement() {
  place.value = state.place;
  for (const key of S.PLACEMENT) machine[key].disabled = state.place !== "manual";
}

let lastView = data("initial-view"); // calc/present.py view of the result on screen
let { state, rejected, fromUrl } = S.readState(location.search, catalog);

/** Show a notice above the calculator. */
function notice(text, kind = "") {
  const p = document.createElement("p");
  p.className = `notice ${kind}`;
  p.setAttribute("role", "status");
  p.textContent = text;
  $("notices").append(p);
}

/** The address of this page in the other language (build-info's "other", relative to this page). */
function langHref(search) {
  return build.other + search;
}

// history.replaceState costs milliseconds in Chromium, so a drag of the slider writes the address
// once it rests; the links that carry the state are current at once.
const URL_SETTLE_MS = 250;
let urlTimer = 0;
// "#config=..." of a pasted config.json (state.js configFragment), "" otherwise; a link's own is kept
// while start() reads it
let configHash = state.model === "custom" && location.hash.startsWith("#config=") ? location.hash : "";

function syncUrl() {
  const search = S.queryString(state, { embed: embed ? "1" : "" });
  $("lang-switch").href = langHref(search) + configHash;
  $("open-full").href = S.queryString(state) + configHash;
  showEmbedCode();
  clearTimeout(urlTimer);
  urlTimer = setTimeout(() => {
    if (location.search + location.hash !== search + configHash) history.replaceState(null, "", search + configHash);
  }, URL_SETTLE_MS);
}

/** Keep a pasted config in the link's fragment (none for a catalog model). */
async function updateConfigHash() {
  const text = state.model === "custom" ? state.config : "";
  let hash = "";
  try { hash = await S.configFragment(text); } catch { hash = ""; } // a browser without CompressionStream
  if (text !== (state.model === "custom" ? state.config : "")) return; // a newer edit is on its way
  configHash = hash;
  syncUrl();
}

/** The address a copied link or an embed points at: the calculator page of this language. */
function shareUrl(extra = {}) {
  return new URL(S.queryString(state, extra) + configHash, new URL(`${build.models}../`, location.href)).href;
}

/** The embed box's HTML for the current settings (only while it is open: it costs nothing otherwise). */
function showEmbedCode() {
  const box = $("embed-code");
  if (!$("embed-box").open) return;
  const src = shareUrl({ embed: "1" }).replace(/&/g, "&amp;").replace(/"/g, "&quot;");
  const title = box.dataset.title.replace(/&/g, "&amp;").replace(/"/g, "&quot;");
  box.value = `<iframe id="llm-vram" src="${src}" style="width:100%;border:0" height="900" title="${title}"></iframe>\n`
    + "<script>addEventListener(\"message\", (e) => { if (e.data && e.data.type === \"llm-vram-calc:height\") "
    + "document.getElementById(\"llm-vram\").height = e.data.height; });</script>";
}

/** Copy `text` and say whether it worked. */
async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    $("share-status").textContent = f.t("share.copied");
  } catch {
    $("share-status").textContent = f.t("share.copy_failed");
  }
}

/** Name the engine's own KV-cache type on the "engine default" option. */
function showKvDefault() {
  form.kv.options[0].textContent = lastView.text["kv-default"];
}

/** The slider's spoken value: the view's written number once the answer for it is in. */
function contextText() {
  return state.ctx === lastView.state.context ? lastView.text.context : String(state.ctx);
}

/** The chosen model's trained window in tokens (a pasted config's from its last answer). */
function modelWindow() {
  return state.model in modelCtx ? modelCtx[state.model] : lastView.state.context_length;
}

/** Put each slider tick (and the model's window mark) over the thumb position of its value. */
function placeTicks(top) {
  for (const tick of document.querySelectorAll(".ticks .tick")) {
    const frac = (Number(tick.dataset.log) - S.CTX_MIN_LOG) / (top - S.CTX_MIN_LOG);
    tick.hidden = !(frac >= 0 && frac <= 1);
    tick.style.left = `calc(8px + (100% - 16px) * ${frac.toFixed(4)})`;
    tick.style.right = "auto";
    tick.style.transform = frac > 0.8 ? "translateX(-100%)" : frac < 0.1 ? "none" : "translateX(-50%)";
  }
}

function showContext() {
  // never rewrite the box while a person types in it ("1.5" must not become 51), nor over a
  // mistyped entry whose error is showing ("12x" must not turn into a valid-looking 12 beside it)
  if (document.activeElement !== form.ctx && S.parseContext(form.ctx.value) !== null) form.ctx.value = String(state.ctx);
  const trained = modelWindow();
  const top = S.sliderMax(trained);
  if (form.slider.max !== String(top)) form.slider.max = String(top);
  form.slider.value = String(S.contextToSlider(state.ctx, top));
  form.slider.setAttribute("aria-valuetext", contextText());
  const mark = $("ctx-window");
  const log = trained ? String(Math.log2(trained)) : "";
  if (mark.dataset.log !== log || !mark.classList.contains("placed")) {
    mark.dataset.log = log;
    placeTicks(top);
    mark.classList.add("placed");
  }
  // its words once the answer for this window is in (the pre-rendered ones may be another model's)
  const words = lastView.state.context_length === trained ? lastView.text["ctx-window"] : "";
  if (mark.textContent !== words) mark.textContent = words;
  $("ctx-max").textContent = lastView.text["ctx-max"];
}

/** The link to the chosen model's own page (none for a pasted config). */
function showModelLink() {
  const link = $("model-page-link");
  link.hidden = !(state.model in modelCtx);
  if (!link.hidden) link.href = `${build.models}${encodeURIComponent(state.model)}/index.html`;
}

/** Offer only the formats and KV-cache types the chosen engine loads (the chosen one stays choosable). */
function showEngineOptions() {
  for (const [select, list] of [[form.quant, catalog.formats], [form.kv, catalog.kv_types]]) {
    const engines = Object.fromEntries(list.map((x) => [x.id, x.engines]));
    for (const option of select.options) {
      if (engines[option.value]) option.disabled = !engines[option.value].includes(state.engine) && option.value !== select.value;
    }
  }
}

/** Show the EXL2 bits control with its format and the chosen engine's settings only; put their values in. */
function showOptional() {
  $("bpw-field").hidden = state.quant !== "exl2";
  for (const field of $("engine-settings").querySelectorAll("[data-engine]")) field.hidden = field.dataset.engine !== state.engine;
  for (const [key, control] of Object.entries(optional)) {
    if (document.activeElement !== control) control.value = S.optionalText(state, key);
  }
}

/** The format to keep when the engine changes: the chosen one if the new engine loads it, else the page's
 * default GGUF for an engine that loads it (llama.cpp) or the checkpoint as published (every engine). */
function formatFor(engine) {
  const loads = (id) => (catalog.formats.find((x) => x.id === id) || { engines: [] }).engines.includes(engine);
  if (loads(state.quant) && (state.quant !== "gguf_file" || S.hasFile(state))) return state.quant;
  return loads(catalog.defaults.quant) ? catalog.defaults.quant : "native";
}

/** The config box, the GGUF file input or the Hub input for a model not in the catalog; gguf_file only with a file. */
function showModelFields() {
  $("config-field").hidden = state.model !== "custom";
  $("gguf-field").hidden = state.model !== S.GGUF_FILE;
  $("hub-field").hidden = state.model !== S.HUB;
  form.quant.querySelector('option[value="gguf_file"]').hidden = !S.hasFile(state) && state.model !== S.GGUF_FILE;
}

/** Put the state into the form controls. */
function applyState() {
  form.model.value = state.model;
  showModelFields();
  showModelLink();
  form.quant.value = state.quant;
  form.engine.value = state.engine;
  showVersions();
  form.kv.value = state.kv || "";
  showKvDefault();
  showEngineOptions();
  form.batch.value = String(state.batch);
  form.gpu.value = state.gpu;
  form.n.value = String(state.n);
  for (const key of Object.keys(S.MACHINE)) machine[key].value = state[key];
  showPlacement();
  if (S.hasMachine(state) || state.place === "manual") $("machine-settings").open = true;
  // a setting of the chosen engine's (a link's pt=, ub=, gmu=...): its disclosure open, so it shows
  if (Object.keys(S.OPTIONAL).some((key) => key !== "bpw" && state[key] !== null && optional[key].closest("[data-engine]").dataset.engine === state.engine)) {
    $("engine-settings").open = true;
  }
  showOptional();
  showContext();
}

/** The engine-version options of the current engine: the newest first (value ""), then older ones. */
function showVersions() {
  const versions = S.versionsOf(catalog, state.engine);
  const current = [...form.ev.options].map((o) => o.textContent).join("|");
  const wanted = versions.map((id, i) => (i ? id : f.t("form.newest", { version: id })));
  if (current !== wanted.join("|")) {
    form.ev.replaceChildren(...wanted.map((text, i) => new Option(text, i ? versions[i] : "")));
  }
  form.ev.value = state.ev || "";
}

let specShown = ""; // the spec card's view on screen: redrawn only when it changes
let chartWidth = 0; // kept by a ResizeObserver, so rendering never forces a layout to read it

/** Hide the result, chart and spec card and say why (`text`), or show them again (no text): the page
 * never shows numbers for settings other than the form's. */
function showPending(text) {
  if (text) html.dataset.pending = "1"; else delete html.dataset.pending;
  $("result-pending").hidden = !text;
  $("result-pending").textContent = text || "";
}

/** A state the pre-rendered result was not computed for (a link that sets other values). */
function differsFromPage() {
  return Object.keys(defaults).some((key) => state[key] !== defaults[key]);
}

function render(view) {
  lastView = view;
  showPending("");
  renderResult($("result-body"), view);
  const spec = JSON.stringify([view.text["model-name"], view.spec]);
  if (spec !== specShown && $("spec")) { // a model page's card is its own model's and stays
    renderSpec($("spec"), view);
    specShown = spec;
  }
  drawChart();
  showKvDefault();
  showFormats();
  showContext();
}

/** Each format's option as the view writes it: its size for this model, or why the engine cannot load it. */
function showFormats() {
  for (const option of form.quant.options) {
    const text = lastView.formats[option.value];
    if (text && option.textContent !== text) option.textContent = text;
  }
}

// The chart's and its table's markup on screen: an answer that draws the same (an input that leaves
// the chart as it is) or a resize that keeps the table writes neither again.
let chartShown = null;
let tableShown = null;

function drawChart() {
  const svg = chartSvg(lastView.chart, chartWidth);
  if (svg !== chartShown) $("chart").innerHTML = chartShown = svg;
  const table = chartTable(lastView.chart);
  if (table !== tableShown) $("chart-table").innerHTML = tableShown = table;
  $("chart-data").hidden = !table;
}

// The result is marked stale only when an answer is slow to come (the page's first, or a pasted
// config's): touching the DOM on every input would cost a frame of style work per slider step.
const STALE_AFTER_MS = 120;
let staleTimer = 0;

function setStale(stale) {
  clearTimeout(staleTimer);
  if (stale) {
    staleTimer = setTimeout(() => showStale(true), STALE_AFTER_MS);
  } else if ($("result").classList.contains("stale")) {
    showStale(false);
  }
}

function showStale(stale) {
  $("result").classList.toggle("stale", stale);
  $("result").setAttribute("aria-busy", stale ? "true" : "false");
}

function showError(text) {
  const box = $("request-error");
  box.hidden = !text;
  box.textContent = text ? f.t("status.request_error", { message: text }) : "";
}

function showGgufError(text) {
  $("gguf-error").hidden = !text;
  $("gguf-error").textContent = text || "";
  form.gguf.setAttribute("aria-invalid", text ? "true" : "false");
}

/** Read a local GGUF file's header with File.slice (never uploaded): the first MiB of each part, more
 * while the core says it needs more (op "gguf"), then estimate from the compact header it gives. */
async function readGguf(files) {
  const parts = [...files].sort((a, b) => (a.name < b.name ? -1 : 1));
  if (!parts.length) return;
  const name = parts[0].name;
  const sizes = parts.map((p) => Math.min(p.size, 1 << 20));
  const texts = await Promise.all(parts.map((p, i) => p.slice(0, sizes[i]).arrayBuffer().then(base64)));
  showGgufError("");
  showPending(f.t("status.gguf_reading", { file: name }));
  for (;;) {
    const answer = await bridge.call("gguf", { gguf: texts, gguf_name: name });
    if (!answer.ok || answer.result.complete) {
      if (answer.ok) Object.assign(state, { gguf: answer.result.header, ggufName: name, quant: "gguf_file" });
      else showGgufError(answer.error.message);
      break;
    }
    const { part, needed_bytes: needed } = answer.result;
    if (sizes[part] >= parts[part].size) { showGgufError(f.t("status.gguf_cut", { file: parts[part].name })); break; }
    sizes[part] = Math.min(needed, parts[part].size);
    texts[part] = base64(await parts[part].slice(0, sizes[part]).arrayBuffer());
  }
  if (state.model !== S.GGUF_FILE) return; // another model was chosen meanwhile
  applyState();
  syncUrl();
  send();
}

function showHubError(text) {
  $("hub-error").hidden = !text;
  $("hub-error").textContent = text || "";
  form.hub.setAttribute("aria-invalid", text ? "true" : "false");
}

function showHubStatus(text) {
  $("hub-status").hidden = !text;
  $("hub-status").textContent = text || "";
}

const sizeFormat = new Intl.NumberFormat(strings.meta.locale, { maximumFractionDigits: 2 });

/** The weights a Hub repo offers: its safetensors checkpoint (value "") and each GGUF model (its first file). */
function showHubFiles(listing, chosen) {
  const options = [];
  if (listing.config) options.push(new Option(f.t("hub.file_safetensors"), ""));
  for (const g of listing.gguf) {
    const size = g.size === null ? f.t("hub.size_unknown") : `${sizeFormat.format(g.size / 2 ** 30)} GiB`;
    options.push(new Option(f.t("hub.file_gguf", { quant: g.quant, file: g.files[0], size }), g.files[0]));
  }
  form.file.replaceChildren(...options);
  form.file.value = chosen || "";
  $("hub-file-field").hidden = options.length < 2;
  form.mmproj.replaceChildren(new Option(f.t("hub.mmproj_none"), ""), ...listing.mmproj.map((m) => new Option(m, m)));
  form.mmproj.value = state.mmproj && listing.mmproj.includes(state.mmproj) ? state.mmproj : "";
  $("hub-mmproj-field").hidden = !listing.mmproj.length;
}

// The Hub fetch on screen: a newer one (another repo, revision or file) makes an older one's answer moot.
let hubRun = 0;

/** Fetch a Hub model (web/js/hub.js) on request: the repo id or URL as typed, an optional revision and
 * GGUF file; the token field's value is read here and kept nowhere else.  The last good result stays
 * on screen while it runs, and when it fails. */
async function hubFetch(text, revision, file, mmproj = "") {
  const run = ++hubRun;
  const box = $("hub-field");
  const failed = (message) => { showHubStatus(""); showHubError(message); box.dataset.hub = "error"; };
  box.dataset.hub = "fetching"; // fetching | done | error, for tests and styles
  showHubError("");
  if (!text.trim()) { failed(f.t("hub.pending")); return; }
  const parsed = await bridge.call("hub", { hub: { repo: text.trim(), revision: revision.trim() || null, file: file || null } });
  if (run !== hubRun) return;
  if (!parsed.ok) { failed(parsed.error.message); return; }
  const ref = parsed.result;
  box.setAttribute("aria-busy", "true");
  try {
    const got = await fetchHub({
      endpoint: build.hub, ref, mmproj, token: $("hub-token").value.trim(), call: (op, payload) => bridge.call(op, payload), t: f.t,
      progress: (words) => { if (run === hubRun) showHubStatus(words); },
    });
    if (run !== hubRun) return;
    const { listing, fields } = got;
    if (!fields) { // a repo of GGUF files only: the Q4_K_M one if there is one, else the first
      const pick = listing.gguf.find((g) => g.quant.toUpperCase() === "Q4_K_M") || listing.gguf[0];
      hubFetch(ref.repo, ref.revision, pick.files[0], mmproj);
      return;
    }
    state.mmproj = mmproj; // before the lists are drawn
    showHubFiles(listing, fields.hub.file);
    showHubStatus(f.t("hub.fetched", { repo: ref.repo, revision: ref.revision, sha: (listing.sha || "?").slice(0, 12) }));
    const chosen = { hub: ref.repo, rev: ref.revision === "main" ? "" : ref.revision, file: fields.hub.file || "", mmproj };
    Object.assign(state, chosen, { hubFields: fields });
    form.hub.value = ref.repo;
    form.rev.value = state.rev;
    if (!fromUrl.has("quant") || (state.quant === "gguf_file" && !fields.gguf)) state.quant = fields.gguf ? "gguf_file" : "native";
    fromUrl.delete("quant");
    box.dataset.hub = "done";
    if (state.model !== S.HUB) return; // another model was chosen meanwhile
    applyState();
    syncUrl();
    send();
  } catch (error) {
    if (run !== hubRun) return;
    failed(error instanceof HubError ? error.message : String(error));
    if (!state.hubFields) showPending(f.t("hub.pending"));
  } finally {
    if (run === hubRun) box.removeAttribute("aria-busy");
  }
}

/** A local mmproj file beside a local GGUF (llama.cpp --mmproj): its first MiB, never uploaded; the core
 * reads the header and says what is wrong with it under the file inputs. */
async function readMmproj(file) {
  if (!file) { Object.assign(state, { mmprojData: "", mmprojName: "" }); send(); return; }
  const data = base64(await file.slice(0, Math.min(file.size, 1 << 20)).arrayBuffer());
  Object.assign(state, { mmprojData: data, mmprojName: file.name });
  showGgufError("");
  send();
}

function showConfigError(text) {
  $("config-error").hidden = !text;
  $("config-error").textContent = text || "";
  form.config.setAttribute("aria-invalid", text ? "true" : "false");
}

// The worker and the coalescing sender.
const bridge = new CalcBridge(new URL("worker.js", import.meta.url), build.worker, window.calcEarlyWorker);
window.calcBridge = bridge;

// Controls showing an error the core gave for the current request: cleared by the next good answer,
// whichever control made it good.
const coreErrors = new Set();

function onAnswer(request, answer, superseded) {
  if (answer.ok) {
    render(answer.result.view);
    showError("");
    showConfigError("");
    for (const key of coreErrors) fieldError(key, "");
    coreErrors.clear();
  } else if (answer.error.code === "worker_failed") {
    // the status line says what happened to the calculator; the last result stays
  } else {
    const key = S.stateKey(answer.error.field);
    if (key && key !== "config" && fromUrl.has(key)) {
      const value = String(state[key]);
      fromUrl.delete(key);
      state[key] = defaults[key];
      applyState();
      fieldError(key, f.t("status.bad_param", { param: key, value: excerpt(value) }));
      syncUrl();
      send();
    } else if (request.config !== undefined) {
      showConfigError(answer.error.message);
      showPending(f.t("status.pending_config"));
    } else if (request.hub !== undefined && /^(hub|config|safetensors|gguf|mmproj)/.test(answer.error.field || "")) {
      showHubError(answer.error.message);
    } else if (request.gguf !== undefined && ["gguf", "mmproj"].includes(answer.error.field)) {
      showGgufError(answer.error.message);
    } else if (key && key !== "config") {
      fieldError(key, answer.error.message);
      coreErrors.add(key);
    } else {
      showError(answer.error.message);
    }
  }
  if (!superseded) {
    delete html.dataset.busy;
    setStale(!answer.ok && answer.error.code !== "worker_failed");
  }
  if (html.dataset.state === "loading" && bridge.versions) markReady();
}

/** The worker is up and its first answer is on screen: say so to tests and to the benchmark. */
function markReady() {
  html.dataset.state = "ready";
  performance.mark("calc:ready");
  registerServiceWorker(); // after start-up: its install downloads the whole site again
}

const sendLatest = coalesce((request) => bridge.call("view", request), onAnswer);

/** Ask the core for the current state (skipped while a custom config is still empty). */
function send() {
  if (state.model === "custom" && !state.config.trim()) {
    showConfigError("");
    showPending(f.t("status.pending_custom"));
    return;
  }
  if (state.model === S.GGUF_FILE && !state.gguf) { // a link cannot carry the file: choose it again
    showPending(f.t("status.pending_gguf"));
    return;
  }
  if (state.model === S.HUB && !state.hubFields) { // fetched only on request (hubFetch)
    showPending(f.t("hub.pending"));
    return;
  }
  html.dataset.busy = "1";
  setStale(true);
  sendLatest(S.toRequest(state, lang));
}

function markInvalid(input, bad) {
  input.setAttribute("aria-invalid", bad ? "true" : "false");
}

/** A message under the control of state key `key` ("" clears it); the last good result stays. */
function fieldError(key, text) {
  const box = $(`err-${key}`);
  if (!box) { if (text) notice(text); return; }
  if (!text && box.hidden) return;
  box.hidden = !text;
  box.textContent = text || "";
  markInvalid($(key), Boolean(text));
}

/** One form event: update the state from the control that changed, then the URL and the result. */
function onInput(event) {
  const el = event.target;
  const count = (key) => {
    const value = S.parseCount(el.value, key);
    if (value === null) {
      fieldError(key, el.dataset.bad); // the message with its limits, written at build time
      return false;
    }
    state[key] = value;
    return true;
  };
  switch (el) {
    case form.model:
      state.model = el.value;
      fromUrl.delete("model");
      if (S.hasFile(state)) state.quant = "gguf_file";
      else if (state.model === S.HUB && state.hubFields && !fromUrl.has("quant")) state.quant = "native";
      else if (state.quant === "gguf_file") state.quant = formatFor(state.engine);
      form.quant.value = state.quant;
      showModelFields();
      if (state.model !== "custom") showConfigError("");
      showModelLink();
      updateConfigHash();
      break;
    case form.config: state.config = el.value; updateConfigHash(); break;
    case form.gguf: if (event.type === "change") readGguf(el.files); return;
    case form.hub: case form.rev: return; // fetched when asked (hubFetch)
    case form.file: if (event.type === "change") hubFetch(state.hub, state.rev, el.value, state.mmproj); return;
    case form.mmproj: if (event.type === "change") hubFetch(state.hub, state.rev, state.file, el.value); return;
    case form.ggufMmproj: if (event.type === "change") readMmproj(el.files[0]); return;
    case form.quant: state.quant = el.value; showEngineOptions(); showOptional(); break;
    case form.kv: state.kv = el.value || null; showEngineOptions(); break;
    case form.engine:
      state.engine = el.value;
      state.kv = null;
      state.ev = null;
      state.quant = formatFor(state.engine);
      applyState();
      break;
    case form.ev: state.ev = el.value || null; break;
    case form.gpu: state.gpu = el.value; break;
    case form.slider:
      state.ctx = S.sliderToContext(el.value);
      form.ctx.value = String(state.ctx);
      fieldError("ctx", ""); // the box holds a valid entry again: its error goes with the red frame
      form.slider.setAttribute("aria-valuetext", contextText());
      break;
    case form.ctx: {
      const value = S.parseContext(el.value);
      if (value === null) { // said when the person leaves the box, not at every keystroke ("1." on the way to "1.5k")
        if (event.type === "change") fieldError("ctx", el.dataset.bad);
        return;
      }
      state.ctx = value;
      form.slider.value = String(S.contextToSlider(state.ctx, Number(form.slider.max)));
      form.slider.setAttribute("aria-valuetext", contextText());
      break;
    }
    case optional[el.name]: {
      const value = S.parseOptional(el.value, el.name);
      if (value === undefined) {
        if (event.type === "change" || el.tagName === "SELECT") fieldError(el.name, el.dataset.bad);
        return;
      }
      state[el.name] = value;
      break;
    }
    case machine[el.name]: state[el.name] = el.value.trim(); break;
    case place: state.place = el.value; showPlacement(); break;
    case form.batch: if (!count("batch")) return; break;
    case form.n: if (!count("n")) return; break;
    default: return;
  }
  for (const key of Object.keys(state)) {
    if (el.name === key || (el === form.slider && key === "ctx")) { fromUrl.delete(key); fieldError(key, ""); }
  }
  syncUrl();
  send();
}

/** The model search box over the model select (web/js/search.js), its words from the strings. */
function startSearch() {
  attachSearch({
    input: $("model-search"), list: $("model-results"), select: form.model, count: $("model-count"), config: form.config,
    models: catalog.models, notListed: f.t("form.not_listed"),
    countText: (shown) => f.t("form.model_count", { shown, total: catalog.models.length }),
  });
}

function postHeight() {
  const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
  window.parent.postMessage({ type: "llm-vram-calc:height", height }, "*");
}

function start() {
  const wantLang = query.get("lang");
  if (wantLang && wantLang !== lang) {
    if (wantLang === strings.meta.other_lang) {
      location.replace(langHref(S.queryString(state, { embed: embed ? "1" : "" })));
      return;
    }
    rejected.push({ param: "lang", value: wantLang });
  }
  if (embed) html.classList.add("embed");
  for (const { param, value } of rejected) fieldError(param, f.t("status.bad_param", { param, value: excerpt(value) }));
  applyState();
  syncUrl();
  if (differsFromPage()) {
    const option = form.model.selectedOptions[0];
    showPending(f.t("status.pending_link", { model: option ? option.textContent : state.model }));
  }
  delete html.dataset.link; // boot.js's placeholder: the form now holds the link's settings
  chartWidth = $("chart").clientWidth;
  drawChart();
  new ResizeObserver(([entry]) => {
    const width = Math.round(entry.contentRect.width);
    if (width !== chartWidth) { chartWidth = width; drawChart(); }
  }).observe($("chart"));
  $("calc-form").addEventListener("input", onInput);
  $("calc-form").addEventListener("change", onInput);
  $("calc-form").addEventListener("submit", (event) => event.preventDefault());
  startSearch();
  $("hub-fetch").addEventListener("click", () => hubFetch(form.hub.value, form.rev.value, ""));
  $("hub-field").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.tagName === "INPUT") { event.preventDefault(); hubFetch(form.hub.value, form.rev.value, ""); }
  });
  form.ctx.addEventListener("blur", () => { // "128k" reads back as the tokens it means once typed
    if (S.parseContext(form.ctx.value) !== null) form.ctx.value = String(state.ctx);
  });
  document.addEventListener("click", (event) => { // a recommended setup (or a model page's): into the form
    const pick = event.target.closest("li[data-gpu] button.rec-name");
    if (!pick) return;
    const li = pick.closest("li");
    state.gpu = li.dataset.gpu;
    state.n = Number(li.dataset.count);
    for (const key of ["gpu", "n"]) { fromUrl.delete(key); fieldError(key, ""); }
    applyState();
    syncUrl();
    send();
    if (!$("result").contains(pick)) $("result").scrollIntoView({ block: "start" });
  });
  $("result-body").addEventListener("click", (event) => { // "use it": the best format that fits
    const button = event.target.closest("#apply-format");
    if (!button || !button.dataset.quant) return;
    state.quant = button.dataset.quant;
    fromUrl.delete("quant");
    fieldError("quant", "");
    applyState();
    syncUrl();
    send();
  });
  if (embed && window.parent !== window) {
    new ResizeObserver(postHeight).observe(document.documentElement);
    postHeight();
  }
  bridge.on((event) => {
    if (event.type === "progress") {
      $("progress").hidden = false;
      $("progress").value = event.done;
      $("progress").max = event.total;
      $("status-text").textContent = f.t(`status.stage_${event.stage}`);
    } else if (event.type === "ready") {
      if (html.dataset.state !== "loading") html.dataset.state = "ready"; // after a restart or a retry
      $("status").classList.remove("status-error");
      $("status-text").textContent = f.t("status.ready");
      $("progress").hidden = true;
    } else if (event.type === "restarting") {
      html.dataset.state = "restarting";
      $("status-text").textContent = f.t("status.restarting");
    } else if (event.type === "fatal") {
      html.dataset.state = "error";
      showPending(""); // the status line says the numbers are the default settings
      delete html.dataset.busy;
      $("progress").hidden = true;
      $("status-text").textContent = event.error === "stalled"
        ? f.t("status.stalled", { seconds: Math.round(LIMITS.bootStallMs / 1000) })
        : f.t("status.error", { error: event.error });
      $("status").classList.add("status-error");
      $("retry").hidden = false;
      setStale(false);
    }
  });
  $("retry").addEventListener("click", () => {
    $("retry").hidden = true;
    $("status").classList.remove("status-error");
    $("status-text").textContent = f.t("status.loading");
    html.dataset.state = "loading";
    bridge.retry();
    bridge.ready.then(() => { if (html.dataset.state === "loading") markReady(); }, () => {});
    send();
  });
  $("copy-link").addEventListener("click", () => copyText(shareUrl(embed ? { embed: "1" } : {})));
  $("copy-command").addEventListener("click", () => copyText($("machine-command").textContent));
  $("embed-box").addEventListener("toggle", showEmbedCode);
  $("copy-embed").addEventListener("click", () => { showEmbedCode(); copyText($("embed-code").value); });
  bridge.ready.then(() => {
    if (html.dataset.state === "loading" && !html.dataset.busy) markReady();
  }, () => {});
  if (state.model === S.HUB && state.hub) { // a link naming a Hub model: fetch it, as the CLI would
    form.hub.value = state.hub;
    form.rev.value = state.rev;
    hubFetch(state.hub, state.rev, state.file, state.mmproj);
  }
  if (configHash) { // a shared link with its pasted config
    S.configFromFragment(configHash).then((text) => {
      if (text !== null) { state.config = text; form.config.value = text; } else { configHash = ""; syncUrl(); }
      send();
    });
  } else {
    send();
  }
}

/** Offline use and fast repeat visits: web/templates/sw.js.j2.  A newer build announces itself. */
let swRegistered = false;

/** Listen for a newer build from the first moment (it may arrive while the calculator starts):
 * a page that was already controlled by an older build says a reload will bring the new one. */
function listenForUpdates() {
  if (!("serviceWorker" in navigator) || embed) return;
  const hadController = Boolean(navigator.serviceWorker.controller);
  let told = false;
  navigator.serviceWorker.addEventListener("message", ({ data }) => {
    if (data && data.type === "llm-vram-calc:updated" && hadController && !told) {
      told = true;
      notice(f.t("status.updated"), "notice-update");
    }
  });
}

function registerServiceWorker() {
  if (swRegistered || !("serviceWorker" in navigator) || embed) return;
  swRegistered = true;
  navigator.serviceWorker.register(`${build.root}sw.js`).catch(() => {});
}

if (location.protocol !== "file:") { listenForUpdates(); start(); }
