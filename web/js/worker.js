// The module worker that owns Pyodide.  Protocol (see web/js/bridge.js for the other side):
//   main -> worker  {id, type: "estimate" | "view" | "catalog" | "model" | "gguf" | "hub", payload: {...request fields}}
//   worker -> main  {id, ok: true, result, heap} | {id, ok: false, error: {code, field, message}, heap}
//                   | {id, garbage: true} when Python's answer is not JSON (a corrupted heap);
//                   heap: the wasm heap's bytes, so the page can replace a worker grown too large
//   worker -> main  events {type: "progress", stage, done, total} | {type: "ready", versions} | {type: "fatal", error}
// Python is reached through pyimport("calc.api") and one call, handle_json(text) -> text.
import { loadPyodide } from "../pyodide/pyodide.mjs";

const STAGES = ["runtime", "package", "import"];
const OPS = new Set(["estimate", "view", "catalog", "model", "gguf", "hub"]);
const PYODIDE_URL = new URL("../pyodide/", import.meta.url).href;
const zipName = self.name; // the page names the worker after the calc archive (bridge.js)

function progress(stage) {
  self.postMessage({ type: "progress", stage, done: STAGES.indexOf(stage), total: STAGES.length });
}

/** An error as one line: a Python traceback's last line, without its temporary paths. */
function describe(error) {
  const text = error && error.message ? error.message : String(error);
  const lines = text.trim().split("\n").filter((line) => line.trim());
  return text.includes("Traceback") ? lines[lines.length - 1].trim() : lines.join(" ");
}

async function boot() {
  if (!/^calc-[0-9a-f]{8}\.zip$/.test(zipName)) throw new Error(`bad calc package name "${zipName}"`);
  progress("runtime");
  // The calc archive downloads while the runtime starts.
  const archive = fetch(new URL(`../${zipName}`, import.meta.url)).then((response) => {
    if (!response.ok) throw new Error(`${zipName}: HTTP ${response.status}`);
    return response.arrayBuffer();
  });
  archive.catch(() => {});
  const pyodide = await loadPyodide({ indexURL: PYODIDE_URL, packageBaseUrl: PYODIDE_URL });
  progress("package");
  pyodide.unpackArchive(await archive, "zip");
  progress("import");
  const api = pyodide.pyimport("calc.api");
  const calc = pyodide.pyimport("calc");
  const versions = { pyodide: pyodide.version, python: pyodide.pyimport("sys").version.split(" ")[0], calc: calc.__version__ ?? null };
  self.postMessage({ type: "progress", stage: "import", done: STAGES.length, total: STAGES.length });
  self.postMessage({ type: "ready", versions });
  return { handleJson: api.handle_json, heap: () => pyodide._module?.HEAPU8?.length ?? 0 };
}

const ready = boot();
ready.catch((error) => self.postMessage({ type: "fatal", error: describe(error) }));

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
  let answer;
  try {
    answer = JSON.parse(calc.handleJson(JSON.stringify({ ...payload, op: type })));
  } catch (error) {
    self.postMessage({ id, garbage: true, error: describe(error) });
    return;
  }
  const heap = calc.heap();
  self.postMessage(answer.ok ? { id, ok: true, result: answer, heap } : { id, ok: false, error: answer.error, heap });
};
