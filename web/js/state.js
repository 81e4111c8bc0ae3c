// The calculator's state <-> the query string <-> the core's request.
// URL keys: model, quant, bpw (EXL2), kv, ctx, batch, engine, ev (engine version), gpu, n, the engine settings
// fa, ub, swa (llama.cpp), gmu, mbt, mns (vLLM), pt (transformers: prompt tokens), your machine's dev, ram,
// rbw, place (auto / manual placement), ngl, ncmoe, ot, a Hub model's hub, rev, file (with model=hub), plus
// lang and embed, handled by app.js.

export const CTX_MIN_LOG = 10; // 1k
export const CTX_MAX_LOG = 18; // 256k
export const CTX_LIMIT = 262144;

export const INT_LIMITS = { ctx: [1, 33554432], batch: [1, 4096], n: [1, 64] };

// A local GGUF file: read in the browser (app.js readGguf), its compact header in state.gguf; a link
// says model=gguf-file but cannot carry the file, so whoever opens it chooses the file again.
export const GGUF_FILE = "gguf-file";

// A model fetched from the Hugging Face Hub (web/js/hub.js): the link carries its repo id (hub), revision
// (rev, "" for main) and GGUF file (file, "" for the safetensors checkpoint), never a token; what was
// fetched stays in memory (state.hubFields, the request fields) and a link fetches it again.
export const HUB = "hub";
export const HUB_KEYS = ["hub", "rev", "file", "mmproj"]; // mmproj: llama.cpp's projector file of the repo
const HUB_MAX = 300; // characters of a repo id, revision or file in a link
const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Whether the state's model is a GGUF file read in this page (a local one, or a Hub repo's). */
export function hasFile(state) {
  return (state.model === GGUF_FILE && Boolean(state.gguf)) || (state.model === HUB && Boolean(state.hubFields && state.hubFields.gguf));
}

/** The state the page starts from when the URL says nothing. */
export function defaultState(defaults) {
  return {
    model: defaults.model, config: "", gguf: "", ggufName: "", hub: "", rev: "", file: "", mmproj: "", hubFields: null, mmprojData: "", mmprojName: "", quant: defaults.quant, kv: defaults.kv_cache && defaults.kv_cache !== "auto" ? defaults.kv_cache : null,
    ctx: defaults.context, batch: defaults.batch, engine: defaults.engine, ev: null, gpu: defaults.gpu, n: defaults.gpus,
    ...Object.fromEntries(Object.keys(OPTIONAL).map((key) => [key, null])),
    ...Object.fromEntries(Object.keys(MACHINE).map((key) => [key, ""])), place: "",
  };
}

// The llama.cpp placement fields: used only when the placement is manual (state.place "manual");
// auto ("") leaves them to the core's planner, which works like llama.cpp's --fit.
export const PLACEMENT = ["ngl", "ncmoe", "ot"];

/** Whether a machine field goes to the core and the link: placement fields only when manual. */
export function machineFieldUsed(state, key) {
  return Boolean(state[key]) && (!PLACEMENT.includes(key) || state.place === "manual");
}

// Your machine (issue 14): text as typed, passed to the core, which checks it and names the field at
// fault (devices, ram, ram_bandwidth, n_gpu_layers, n_cpu_moe, override_tensor).  "" = not given.
export const MACHINE = {
  dev: "devices", ram: "ram", rbw: "ram_bandwidth", ngl: "n_gpu_layers", ncmoe: "n_cpu_moe", ot: "override_tensor",
};
const MACHINE_MAX = 200; // characters a machine field may carry in a link

/** Whether the state asks for the machine answer: a GPU list or the RAM given. */
export function hasMachine(state) {
  return Object.keys(MACHINE).some((key) => machineFieldUsed(state, key));
}

// Settings that are null (the engine's own default) unless set: state key -> [request field, kind].
export const OPTIONAL = {
  bpw: ["bpw", "float"], fa: ["flash_attention", "flag"], ub: ["ubatch", "int"], swa: ["swa_full", "flag"],
  gmu: ["gpu_memory_utilization", "float"], mbt: ["max_num_batched_tokens", "int"], mns: ["max_num_seqs", "int"],
  pt: ["prompt_tokens", "int"],
};
const OPTIONAL_FORMS = { int: /^\d+$/, float: /^(\d+\.?\d*|\.\d+)$/, flag: /^[01]$/ };

/** An optional setting from a control or a link: null when empty, undefined when not a value of its kind
 * (the core checks the range and names the field when it is out of it). */
export function parseOptional(text, key) {
  const raw = String(text).trim();
  if (!raw) return null;
  const kind = OPTIONAL[key][1];
  if (!OPTIONAL_FORMS[kind].test(raw)) return undefined;
  return kind === "flag" ? raw === "1" : Number(raw);
}

/** An engine's release ids, newest first (the catalog's engines[].versions). */
export function versionsOf(catalog, engine) {
  const found = catalog.engines.find((e) => e.id === engine);
  return found ? found.versions.map((v) => v.id) : [];
}

/** Parse a positive whole number within limits, or null. */
export function parseCount(text, key) {
  if (!/^\s*\d+\s*$/.test(String(text))) return null;
  const value = Number(text);
  const [lo, hi] = INT_LIMITS[key];
  return value >= lo && value <= hi ? value : null;
}

/**
 * Read the state from a query string.  Unknown or invalid values fall back to the default and are
 * reported in `rejected` as {param, value}; `fromUrl` lists the keys the URL set.
 */
export function readState(search, catalog) {
  const params = new URLSearchParams(search);
  const state = defaultState(catalog.defaults);
  const rejected = [];
  const fromUrl = new Set();
  const ids = {
    model: [...catalog.models.map((m) => m.id), "custom", GGUF_FILE, HUB], quant: catalog.formats.map((x) => x.id),
    kv: catalog.kv_types.map((x) => x.id), engine: catalog.engines.map((x) => x.id), gpu: catalog.gpus.map((x) => x.id),
  };
  for (const [key, list] of Object.entries(ids)) {
    if (!params.has(key)) continue;
    const raw = params.get(key);
    if (key === "kv" && raw === "auto") { state.kv = null; continue; }
    let found = list.find((id) => id.toLowerCase() === raw.trim().toLowerCase());
    if (!found && key === "model") {
      const byRepo = catalog.models.find((m) => m.repo.toLowerCase() === raw.trim().toLowerCase());
      found = byRepo && byRepo.id;
    }
    if (!found && key === "model" && REPO_ID.test(raw.trim()) && raw.length <= HUB_MAX) { // a repo id not in the catalog
      Object.assign(state, { model: HUB, hub: raw.trim() });
      fromUrl.add(key);
      continue;
    }
    if (found) { state[key] = found; fromUrl.add(key); } else rejected.push({ param: key, value: raw });
  }
  for (const key of HUB_KEYS) {
    if (!params.has(key) || state.model !== HUB) continue;
    const raw = params.get(key).trim();
    if (raw.length > HUB_MAX) rejected.push({ param: key, value: params.get(key) });
    else if (raw && !(key === "hub" && state.hub)) { state[key] = raw; fromUrl.add(key); }
  }
  if (params.has("ev")) { // a release of the engine the link names (the newest when it names none)
    const raw = params.get("ev").trim();
    const versions = versionsOf(catalog, state.engine);
    const found = versions.find((id) => id.toLowerCase() === raw.toLowerCase());
    if (found) { state.ev = found === versions[0] ? null : found; fromUrl.add("ev"); } else rejected.push({ param: "ev", value: params.get("ev") });
  }
  for (const key of Object.keys(INT_LIMITS)) {
    if (!params.has(key)) continue;
    const value = key === "ctx" ? parseContext(params.get(key)) : parseCount(params.get(key), key);
    if (value === null) rejected.push({ param: key, value: params.get(key) });
    else { state[key] = value; fromUrl.add(key); }
  }
  for (const key of Object.keys(OPTIONAL)) {
    if (!params.has(key)) continue;
    const value = parseOptional(params.get(key), key);
    if (value === undefined) rejected.push({ param: key, value: params.get(key) });
    else { state[key] = value; fromUrl.add(key); }
  }
  for (const key of Object.keys(MACHINE)) {
    if (!params.has(key)) continue;
    const raw = params.get(key).trim();
    if (raw.length > MACHINE_MAX) rejected.push({ param: key, value: params.get(key) });
    else { state[key] = raw; fromUrl.add(key); }
  }
  // place=manual keeps -ngl / --n-cpu-moe / -ot; a link from before the toggle that sets one of them is manual too
  const place = (params.get("place") || "").trim().toLowerCase();
  if (place === "manual" || (place !== "auto" && PLACEMENT.some((key) => state[key]))) state.place = "manual";
  else if (place && place !== "auto") rejected.push({ param: "place", value: params.get("place") });
  if (params.has("place")) fromUrl.add("place");
  return { state, rejected, fromUrl };
}

/** The text of an optional setting's control ("" for the engine's default). */
export function optionalText(state, key) {
  const value = state[key];
  return value === null ? "" : typeof value === "boolean" ? (value ? "1" : "0") : String(value);
}

/** The query string for a state (a pasted config.json travels in the fragment: configFragment). */
export function queryString(state, extra = {}) {
  const params = new URLSearchParams();
  params.set("model", state.model);
  params.set("quant", state.quant);
  if (state.kv) params.set("kv", state.kv);
  params.set("ctx", String(state.ctx));
  params.set("batch", String(state.batch));
  params.set("engine", state.engine);
  if (state.ev) params.set("ev", state.ev);
  params.set("gpu", state.gpu);
  params.set("n", String(state.n));
  for (const key of Object.keys(OPTIONAL)) if (state[key] !== null && applies(state, key)) params.set(key, optionalText(state, key));
  if (state.place === "manual") params.set("place", "manual");
  for (const key of Object.keys(MACHINE)) if (machineFieldUsed(state, key)) params.set(key, state[key]);
  if (state.model === HUB) for (const key of HUB_KEYS) if (state[key]) params.set(key, state[key]);
  for (const [key, value] of Object.entries(extra)) if (value) params.set(key, value);
  return `?${params.toString()}`;
}

/** The core's estimate request for a state. */
export function toRequest(state, lang) {
  const request = {
    quant: state.quant, context: state.ctx, batch: state.batch, engine: state.engine,
    gpu: state.gpu, gpus: state.n, lang,
  };
  if (state.model === "custom") request.config = state.config;
  else if (state.model === GGUF_FILE) {
    Object.assign(request, { gguf: state.gguf, gguf_name: state.ggufName });
    if (state.mmprojData) Object.assign(request, { mmproj: state.mmprojData, mmproj_name: state.mmprojName }); // a local mmproj
  }
  else if (state.model === HUB) Object.assign(request, state.hubFields || {});
  else request.model = state.model;
  if (state.kv) request.kv_cache = state.kv;
  if (state.ev) request.engine_version = state.ev;
  for (const [key, [field]] of Object.entries(OPTIONAL)) if (state[key] !== null && applies(state, key)) request[field] = state[key];
  for (const [key, field] of Object.entries(MACHINE)) {
    if (!machineFieldUsed(state, key) || (state.engine !== "llama.cpp" && PLACEMENT.includes(key))) continue;
    request[field] = state[key];
  }
  // manual placement: llama.cpp's own defaults for what is left empty (-ngl all), no planner
  if (hasMachine(state) && state.place === "manual" && state.engine === "llama.cpp") request.fit = false;
  if (hasMachine(state) && !state.dev) request.devices = `${state.n}x${state.gpu}`; // the GPU above
  return request;
}

// The engine each engine setting belongs to (bpw: the EXL2 format's).
const SETTING_ENGINE = { fa: "llama.cpp", ub: "llama.cpp", swa: "llama.cpp", gmu: "vllm", mbt: "vllm", mns: "vllm", pt: "transformers" };

/** Whether an optional setting applies to the state's engine and format. */
export function applies(state, key) {
  return key === "bpw" ? state.quant === "exl2" : SETTING_ENGINE[key] === state.engine;
}

/** Which state key a core error field names. */
export function stateKey(field) {
  const optional = Object.fromEntries(Object.entries(OPTIONAL).map(([key, [name]]) => [name, key]));
  return { model: "model", config: "config", quant: "quant", kv_cache: "kv", context: "ctx",
    batch: "batch", engine: "engine", engine_version: "ev", gpu: "gpu", gpus: "n", ...optional,
    ...Object.fromEntries(Object.entries(MACHINE).map(([key, name]) => [name, key])), fit: "place" }[field] || null;
}

// Multipliers of the context box's suffixes: binary, as the engines and model cards mean them
// ("128k" is 131,072 tokens: Llama 3.1's window, max_position_embeddings 131072).
const CTX_SUFFIX = { "": 1, k: 1024, m: 1048576 };

/** Context tokens from what a person types (32768, 32,768, 128k, 1.5k, 1M), or null: thousands
 * separators and spaces are ignored, the result must be a whole number within INT_LIMITS.ctx. */
export function parseContext(text) {
  const m = /^(\d+(?:\.\d+)?)([km]?)$/.exec(String(text).trim().toLowerCase().replace(/[,_\s]/g, ""));
  if (!m) return null;
  const value = Number(m[1]) * CTX_SUFFIX[m[2]];
  const [lo, hi] = INT_LIMITS.ctx;
  return Number.isInteger(value) && value >= lo && value <= hi ? value : null;
}

/** The slider's top (log2 tokens): 256k, or the model's window when that is longer. */
export function sliderMax(window) {
  return Math.max(CTX_MAX_LOG, Math.ceil(Math.log2(Math.max(1, window || 1))));
}

/** Context tokens for a slider position: the power of two it stands on (1k, 2k ... 128k, 256k). */
export function sliderToContext(position) {
  return 2 ** Math.round(Number(position));
}

/** Slider position for a context length, clamped to the slider's range. */
export function contextToSlider(tokens, top = CTX_MAX_LOG) {
  return Math.min(top, Math.max(CTX_MIN_LOG, Math.log2(Math.max(1, tokens))));
}

// A pasted config.json in the link: deflate-raw compressed, base64url, after "#config=".  Browsers never
// send a fragment to the server, so the config stays with the person who pasted it and whoever gets the link.
const FRAGMENT_KEY = "config=";

/** "#config=<deflated base64url>" for a config text ("" for an empty one). */
export async function configFragment(text) {
  if (!text.trim()) return "";
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("deflate-raw"));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return `#${FRAGMENT_KEY}${btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
}

/** The config text a location.hash carries, or null when it carries none or cannot be read. */
export async function configFromFragment(hash) {
  if (!hash.startsWith(`#${FRAGMENT_KEY}`)) return null;
  try {
    const b64 = hash.slice(FRAGMENT_KEY.length + 1).replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
    return await new Response(stream).text();
  } catch {
    return null;
  }
}
