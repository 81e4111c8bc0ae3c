// Build step (snapshot.py runs it with Node): a memory snapshot of Pyodide with the calculator ready.
//
//   node snapshot.mjs PYODIDE_DIR STDLIB_ZIP CALC_ZIP WARM_PY REQUESTS_JSON OUT
//
// Every Pyodide here starts with STDLIB_ZIP, the page's trimmed standard library (stdlib.py), as the
// page's worker does.  Boots the npm Pyodide with _makeSnapshot, unpacks the calc archive, runs WARM_PY (imports every
// module, reads every data file: the snapshot holds memory, not files), answers REQUESTS_JSON (every
// op, engine and language, so the caches are filled) and writes the snapshot to OUT.  Then it restores
// the snapshot in a second instance that has no calc files and writes its answers to the same
// requests to OUT.answers.json, and boots a third the way the worker does without a snapshot (the
// archive unpacked, calc.api imported) and writes its answers to OUT.archive.json (snapshot.py compares
// both with CPython's).
//
// The same inputs give the same bytes: the entropy Python and Emscripten ask for comes from a fixed
// sequence, the clocks read fixed values, and PYTHONHASHSEED is 0.  Nothing of that reaches the page:
// a restored runtime reads the real clocks (the calculator draws no random numbers).
import nodeCrypto from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

// A failure as its message alone (a Python traceback), not Node's dump of the minified line it came from.
const report = (error) => {
  console.error(error?.message ?? String(error));
  process.exit(1);
};
process.on("uncaughtException", report);
process.on("unhandledRejection", report);

const [pyodideDir, stdlibPath, zipPath, warmPath, requestsPath, out] = process.argv.slice(2);

let state = 0x9e3779b9; // a linear congruential sequence (Numerical Recipes' constants)
nodeCrypto.randomFillSync = (view) => {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  for (let i = 0; i < bytes.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    bytes[i] = state >>> 24;
  }
  return view;
};
const realNow = Date.now;
Date.now = () => 315532800000; // 1980-01-01, the archive's timestamps (package.py ZIP_DATE)
let tick = 0;
performance.now = () => (tick += 1);

const { loadPyodide } = await import(pathToFileURL(`${pyodideDir}/pyodide.mjs`).href);
const indexURL = `${pyodideDir}/`;
const stdLibURL = stdlibPath;
const requests = JSON.parse(readFileSync(requestsPath, "utf-8"));

const py = await loadPyodide({ indexURL, stdLibURL, _makeSnapshot: true, env: { PYTHONHASHSEED: "0" } });
py.unpackArchive(new Uint8Array(readFileSync(zipPath)), "zip");
py.runPython(readFileSync(warmPath, "utf-8"));
const api = py.pyimport("calc.api");
for (const request of requests) api.handle_json(JSON.stringify(request));
api.destroy();
const snapshot = py.makeMemorySnapshot();
writeFileSync(out, snapshot);

Date.now = realNow;
const restored = await loadPyodide({ indexURL, stdLibURL, _loadSnapshot: snapshot });
const answers = (handle) => JSON.stringify(requests.map((request) => JSON.parse(handle(JSON.stringify(request)))));
writeFileSync(`${out}.answers.json`, answers(restored.pyimport("calc.api").handle_json));

const booted = await loadPyodide({ indexURL, stdLibURL });
booted.unpackArchive(new Uint8Array(readFileSync(zipPath)), "zip");
writeFileSync(`${out}.archive.json`, answers(booted.pyimport("calc.api").handle_json));
