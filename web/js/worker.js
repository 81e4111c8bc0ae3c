// The module worker that owns Pyodide.  Protocol (see web/js/bridge.js for the other side):
//   main -> worker  {id, type: "estimate" | "view" | "catalog" | "model" | "gguf" | "hub", payload: {...request fields}}
//   worker -> main  {id, ok: true, text, heap} | {id, ok: false, error: {code, field, message}, heap}
//                   text: the answer's JSON as Python wrote it (bridge.js parses it into result: a
//                   string crosses postMessage as one copy, the parsed tree as a slow structured clone)
//                   | {id, garbage: true} when Python's answer is not JSON (a corrupted heap);
//                   heap: the wasm heap's bytes, so the page can replace a worker grown too large
//   worker -> main  events {type: "progress", stage, done, total} | {type: "ready", versions} | {type: "fatal", error}
// Python is reached through pyimport("calc.api") and one call, handle_json(text) -> text.
//
// The worker's name is build.py's worker_boot: {zip, snapshot: {file, bytes, sha256, pyodide}, stdlib}.
// Both boots start Pyodide with `stdlib`, the trimmed standard library in pyodide/ (stdlib.py: what the
// calculator imports, without docstrings: a fifth of python_stdlib.zip; the snapshot was made with
// it).  Should that boot fail, or an answer say a module was not found, the worker boots again from
// the archive with the stock python_stdlib.zip and answers from there.
// It restores the memory snapshot (snapshot.py: the calculator imported, every data file read) when
// it can, and otherwise boots as without one: Pyodide, then the calc archive unpacked and imported.  It
// boots that way when the snapshot is of another Pyodide, missing, served wrong, cut short or of other
// bytes (its length and sha256 are checked before Pyodide sees it), when Pyodide refuses it, and on a
// first visit over a slow link (its first PROBE_BYTES take longer than PROBE_MS: there the download
// costs more than the start-up it saves; the service worker keeps it for the next visit).
import { loadPyodide, version as pyodideVersion } from "../pyodide/pyodide.mjs";

const STAGES = ["runtime", "package", "import"];
const OPS = new Set(["estimate", "view", "catalog", "model", "gguf", "hub"]);
const PYODIDE_URL = new URL("../pyodide/", import.meta.url).href;
const spec = readSpec(self.name); // the page names the worker after what it boots from (bridge.js)
const zipName = spec.zip;
const STOCK_STDLIB = "python_stdlib.zip";
let stdlibName = STOCK_STDLIB; // what the running Pyodide was started with
// Restore only if this much of the snapshot arrives within this time (about 20 Mbit/s): slower, the
// extra megabytes cost more than the ~2.5 s of start-up they save (bench: python -m bench).
const PROBE_BYTES = 256 * 1024;
const PROBE_MS = 100;

function readSpec(name) {
  try {
    const value = JSON.parse(name);
    if (value && typeof value === "object") return value;
  } catch {}
  return { zip: String(name), snapshot: null, stdlib: null };
}

let stageNow = null; // the boot stage under way (null: not booting, or a quiet second boot)

function report(stage) {
  stageNow = stage;
  self.postMessage({ type: "progress", stage, done: STAGES.indexOf(stage), total: STAGES.length });
}

// Bytes arriving are progress: on a slow link Pyodide's own download (pyodide.asm.wasm, the stdlib)
// takes longer than the page's boot-stall limit (bridge.js bootStallMs) without a stage changing.
// Every response the worker's fetch returns while booting (Pyodide's included: it calls the global
// fetch) passes its body through a stream that repeats the current stage at most once a second while
// chunks come in; a connection that stops sending still reads as a stall.
const plainFetch = self.fetch.bind(self);
const ALIVE_MS = 1000;
let aliveAt = 0;
self.fetch = async (...args) => {
  const response = await plainFetch(...args);
  if (!response.body || stageNow === null) return response;
  const stage = stageNow;
  const alive = new TransformStream({
    transform(chunk, controller) {
      const now = performance.now();
      if (stageNow !== null && now - aliveAt >= ALIVE_MS) {
        aliveAt = now;
        self.postMessage({ type: "progress", stage, done: STAGES.indexOf(stage), total: STAGES.length });
      }
      controller.enqueue(chunk);
    },
  });
  const { status, statusText, headers } = response;
  return new Response(response.body.pipeThrough(alive), { status, statusText, headers });
};

/** An error as one line: a Python traceback's last line, without its temporary paths. */
function describe(error) {
  const text = error && error.message ? error.message : String(error);
  const lines = text.trim().split("\n").filter((line) => line.trim());
  return text.includes("Traceback") ? lines[lines.length - 1].trim() : lines.join(" ");
}

/** The snapshot's checked bytes, or {why} when the worker boots without it. */
async function fetchSnapshot(snapshot) {
  if (!snapshot) return { why: "no snapshot in this build" };
  if (!/^snapshot-[0-9a-f]{16}\.bin\.gz$/.test(snapshot.file)) return { why: "bad snapshot name" };
  if (snapshot.pyodide !== pyodideVersion) return { why: `snapshot of Pyodide ${snapshot.pyodide}` };
  const response = await fetch(new URL(`../${snapshot.file}`, import.meta.url));
  if (!response.ok) return { why: `HTTP ${response.status}` };
  const reader = response.body.getReader();
  const chunks = [];
  let got = 0;
  let slow = false;
  const timer = setTimeout(() => { slow = true; reader.cancel().catch(() => {}); }, PROBE_MS);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    const before = got;
    got += value.length;
    if (got >= PROBE_BYTES) clearTimeout(timer);
    if (before >> 20 !== got >> 20) report("runtime"); // each MiB: the boot has not stalled
  }
  clearTimeout(timer);
  if (slow) return { why: "slow link" };
  let blob = new Blob(chunks);
  const head = new Uint8Array(await blob.slice(0, 2).arrayBuffer());
  if (head[0] === 0x1f && head[1] === 0x8b) {
    // the .gz file as stored (static hosts send it without Content-Encoding)
    try {
      blob = await new Response(blob.stream().pipeThrough(new DecompressionStream("gzip"))).blob();
    } catch {
      return { why: "snapshot not gzip" };
    }
  }
  const bytes = new Uint8Array(await blob.arrayBuffer());
  if (bytes.length !== snapshot.bytes) return { why: `snapshot of ${bytes.length} bytes, not ${snapshot.bytes}` };
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  if (hex !== snapshot.sha256) return { why: "snapshot sha256 differs" };
  return { bytes };
}

function fetchArchive() {
  const archive = fetch(new URL(`../${zipName}`, import.meta.url)).then((response) => {
    if (!response.ok) throw new Error(`${zipName}: HTTP ${response.status}`);
    return response.arrayBuffer();
  });
  archive.catch(() => {});
  return archive;
}

/** An answer that says Python missed a module (calc.api names the exception's type). */
function moduleMissing(text) {
  return /ModuleNotFoundError/.test(String(text));
}

/** Boot with the trimmed stdlib; should that fail (a module it lacks, the file missing), once more from
 * the archive with the stock one. */
async function boot() {
  if (!/^calc-[0-9a-f]{8}\.zip$/.test(zipName)) throw new Error(`bad calc package name "${zipName}"`);
  const trimmed = typeof spec.stdlib === "string" && /^calc_stdlib-[0-9a-f]{16}\.zip$/.test(spec.stdlib) ? spec.stdlib : null;
  if (!trimmed) return start(STOCK_STDLIB, false, spec.stdlib ? "bad stdlib name" : "no trimmed stdlib in this build");
  try {
    return await start(trimmed, true, null);
  } catch (error) {
    return start(STOCK_STDLIB, false, `the trimmed stdlib failed: ${describe(error)}`);
  }
}

/** Start Pyodide with `stdlib` (a file in pyodide/), from the snapshot if `mayRestore` and it can, else
 * from the archive (`reason`: why not).  `quiet`: a second boot of a worker already ready, which tells
 * the page nothing (it is answering a request the page waits for). */
async function start(stdlib, mayRestore, reason, quiet = false) {
  const progress = quiet ? () => {} : report;
  progress("runtime");
  stdlibName = stdlib;
  const options = { indexURL: PYODIDE_URL, packageBaseUrl: PYODIDE_URL, stdLibURL: PYODIDE_URL + stdlib };
  let pyodide = null;
  let why = null;
  const snapshot = mayRestore
    ? await fetchSnapshot(spec.snapshot).catch((error) => ({ why: describe(error) }))
    : { why: reason };
  if (snapshot.bytes) {
    try {
      pyodide = await loadPyodide({ ...options, _loadSnapshot: snapshot.bytes });
    } catch (error) {
      why = `Pyodide refused the snapshot: ${describe(error)}`;
    }
  } else {
    why = snapshot.why;
  }
  if (!pyodide) {
    // The calc archive downloads while the runtime starts.
    const archive = fetchArchive();
    pyodide = await loadPyodide(options);
    progress("package");
    pyodide.unpackArchive(await archive, "zip");
  }
  progress("import");
  const api = pyodide.pyimport("calc.api");
  const calc = pyodide.pyimport("calc");
  const versions = {
    pyodide: pyodide.version,
    python: pyodide.pyimport("sys").version.split(" ")[0],
    calc: calc.__version__ ?? null,
    boot: why ? "archive" : "snapshot",
    why,
    stdlib,
  };
  if (!quiet) {
    stageNow = null;
    self.postMessage({ type: "progress", stage: "import", done: STAGES.length, total: STAGES.length });
    self.postMessage({ type: "ready", versions });
  }
  return { handleJson: api.handle_json, heap: () => pyodide._module?.HEAPU8?.length ?? 0 };
}

let ready = boot();
ready.catch((error) => self.postMessage({ type: "fatal", error: describe(error) }));
let rebooted = null; // the stock-stdlib boot after an answer hit a missing module, started once

// The answer's JSON text as Python wrote it (posted as is) and its parse (to look at ok and error).
async function answerOf(calc, type, payload) {
  const text = calc.handleJson(JSON.stringify({ ...payload, op: type }));
  return [text, JSON.parse(text)];
}

self.onmessage = async ({ data }) => {
  const { id, type, payload } = data;
  let calc;
  try {
    calc = await ready;
    if (!OPS.has(type)) throw new Error(`unknown message type "${type}"`);
  } catch (error) {
    self.postMessage({ id, ok: false, error: { code: "internal_error", field: null, message: describe(error) } });
    return;
  }
  let text;
  let answer;
  try {
    [text, answer] = await answerOf(calc, type, payload);
    if (!answer.ok && stdlibName !== STOCK_STDLIB && moduleMissing(answer.error?.message)) {
      // the trimmed stdlib lacks what this request imports: boot with the stock one and ask it
      if (!rebooted) {
        rebooted = start(STOCK_STDLIB, false, `the trimmed stdlib lacks a module: ${answer.error.message}`, true);
        ready = rebooted;
      }
      calc = await rebooted;
      [text, answer] = await answerOf(calc, type, payload);
    }
  } catch (error) {
    self.postMessage({ id, garbage: true, error: describe(error) });
    return;
  }
  const heap = calc.heap();
  self.postMessage(answer.ok ? { id, ok: true, text, heap } : { id, ok: false, error: answer.error, heap });
};
