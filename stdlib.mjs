// Build step (stdlib.py runs it with Node): which standard-library modules the calculator loads.
//
//   node stdlib.mjs PYODIDE_DIR CALC_ZIP WARM_PY REQUESTS_JSON SCAN_PY OUT
//
// Boots the npm Pyodide with its stock python_stdlib.zip, unpacks the calc archive, runs WARM_PY
// (every calc module imported, every data file read), answers REQUESTS_JSON (every op, engine and
// language) and then runs SCAN_PY, which writes the modules to keep and their stripped sources as
// JSON; that goes to OUT.
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

// A failure as its message alone (a Python traceback), not Node's dump of the minified line it came from.
const report = (error) => {
  console.error(error?.message ?? String(error));
  process.exit(1);
};
process.on("uncaughtException", report);
process.on("unhandledRejection", report);

const [pyodideDir, zipPath, warmPath, requestsPath, scanPath, out] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(`${pyodideDir}/pyodide.mjs`).href);
const py = await loadPyodide({ indexURL: `${pyodideDir}/` });
py.unpackArchive(new Uint8Array(readFileSync(zipPath)), "zip");
py.runPython(readFileSync(warmPath, "utf-8"));
const api = py.pyimport("calc.api");
for (const request of JSON.parse(readFileSync(requestsPath, "utf-8"))) api.handle_json(JSON.stringify(request));
py.runPython(readFileSync(scanPath, "utf-8"));
writeFileSync(out, py.FS.readFile("/scan.json"));
