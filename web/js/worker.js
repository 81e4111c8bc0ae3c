// The module worker that owns Pyodide.  Protocol (see web/js/bridge.js for the other side):
//   main -> worker  {id, type: "estimate" | "view" | "catalog" | "model", payload: {...request fields}}
//   worker -> main  {id, ok: true, result} | {id, ok: false, error: {code, field, message}}
//   worker -> main  events {type: "progress", stage, done, total} | {type: "ready", versions} | {type: "fatal", error}
// Python is reached through pyimport("calc.api") and one call, handle_json(text) -> text.
import { loadPyodide } from "../pyodide/pyodide.mjs";

const STAGES = ["runtime", "package", "import"];
const OPS = new Set(["estimate", "view", "catalog", "model"]);
const PYODIDE_URL = new URL("../pyodide/", import.meta.url).href;
const zipName = self.name; // the page names the worker after the calc archive (bridge.js)

function progress(stage) {
  self.postMessage({ type: "progress", stage, done: STAGES.indexOf(stage), total: STAGES.length });
}

function describe(error) {
  return error && error.message ? error.message : String(error);
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
  return api.handle_json;
}

const ready = boot();
ready.catch((error) => self.postMessage({ type: "fatal", error: describe(error) }));

self.onmessage = async ({ data }) => {
  const { id, type, payload } = data;
  try {
    const handleJson = await ready;
    if (!OPS.has(type)) throw new Error(`unknown message type "${type}"`);
    const answer = JSON.parse(handleJson(JSON.stringify({ ...payload, op: type })));
    self.postMessage(answer.ok ? { id, ok: true, result: answer } : { id, ok: false, error: answer.error });
  } catch (error) {
    self.postMessage({ id, ok: false, error: { code: "internal_error", field: null, message: describe(error) } });
  }
};
