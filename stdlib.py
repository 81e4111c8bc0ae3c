"""The page's trimmed standard library: the part of Pyodide's python_stdlib.zip the calculator and
Pyodide's own start-up import, so a first visit downloads about a fifth of its 2.5 MB.

build.py calls trim(calc zip bytes, Pyodide folder) -> (file name, zip bytes, build-info entry).
Node runs stdlib.mjs: the stock Pyodide boots, unpacks the calc archive, imports every module and
reads every data file (snapshot.WARM_PY), answers one request of every kind (snapshot.warm_requests),
and then lists the modules it loaded from the zip and what they import at module level, found with
Pyodide's own ast (its Python is newer than the build's).  The zip holds those modules and
EXTRA_MODULES without docstrings and comments (python -OO drops the docstrings too; the stdlib is
tested to run so): 0.45 MB instead of 2.5.  Nothing is trusted to this list alone: snapshot.mjs makes the snapshot with the
trimmed zip and checks both boots with it (the restored one and the archive one, each answering
every request kind as CPython does), so a module missing fails the build, not a visit.  The stock
zip stays in dist/pyodide/ for the worker's fallback (web/js/worker.js: a ModuleNotFoundError
reboots with it) and for the benchmark's bare Pyodide boot.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from package import ZIP_DATE, strip_docs

ROOT = Path(__file__).resolve().parent
SCRIPT = ROOT / "stdlib.mjs"

# Codecs looked up by name at run time (encodings.search_function imports encodings.<name>), which no
# import statement shows: the UTF and Latin-1 family and what zipfile, json and the idna hostnames use.
EXTRA_MODULES = (
    "encodings.aliases",
    "encodings.ascii",
    "encodings.charmap",
    "encodings.cp437",
    "encodings.idna",
    "encodings.latin_1",
    "encodings.punycode",
    "encodings.raw_unicode_escape",
    "encodings.unicode_escape",
    "encodings.utf_16",
    "encodings.utf_16_be",
    "encodings.utf_16_le",
    "encodings.utf_32",
    "encodings.utf_32_be",
    "encodings.utf_32_le",
    "encodings.utf_8",
    "encodings.utf_8_sig",
)

# Run inside the stock Pyodide after the warm-up (EXTRA: EXTRA_MODULES): every
# module loaded from the zip, then the closure over their module-level imports (an import in a
# function is left to the checks; one under `if __name__ == "__main__":` never runs), printed as JSON
# with each module's source stripped of docstrings and comments (Pyodide's ast reads its own Python),
# into /scan.json.
SCAN_PY = """
import ast, json, sys, zipfile
STDLIB_ZIP = f"/lib/python{sys.version_info[0]}{sys.version_info[1]}.zip"  # where Pyodide writes the zip
archive = zipfile.ZipFile(STDLIB_ZIP)
files = {}
for name in archive.namelist():
    if name.endswith(".py"):
        files[name[:-3].replace("/", ".").removesuffix(".__init__")] = name

def is_main_guard(node):
    test = node.test if isinstance(node, ast.If) else None
    if not (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"):
        return False
    return any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)

SKIP = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)

def imports(module):
    path = files[module]
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    found = set()
    def visit(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, SKIP) or is_main_guard(child):
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parts = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join(parts + ([child.module] if child.module else []))
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in child.names)
            visit(child)
    visit(ast.parse(archive.read(path), path))
    return found

todo = [name for name, m in sys.modules.items() if (getattr(m, "__file__", None) or "").startswith(STDLIB_ZIP + "/")]
todo += EXTRA
seen = set()
while todo:
    name = todo.pop()
    parts = name.split(".")
    for k in range(1, len(parts) + 1):
        prefix = ".".join(parts[:k])
        if prefix in files and prefix not in seen:
            seen.add(prefix)
            todo.extend(imports(prefix))

# The module's source without docstrings and comments (strip_docs, package.py's, prepended to this
# script: what python -OO drops, and what the stdlib is tested to run without), compiled once here so
# that a module no check imports still parses.
def stripped(path):
    source = strip_docs(archive.read(path)).decode("utf-8")
    compile(source, path, "exec")
    return source

with open("/scan.json", "w", encoding="utf-8") as out:
    json.dump({"modules": sorted(seen), "files": {files[m]: stripped(files[m]) for m in sorted(seen)}}, out)
"""


def fail(message: str) -> None:
    raise SystemExit(f"build.py: error: {message}")


def modules(calc_zip: bytes, pyodide_dir: Path, warm_py: str, requests: list[dict]) -> dict:
    """The stdlib modules the calculator needs (see the module docstring): {"modules": sorted names,
    "files": {zip entry: source without docstrings and comments}}."""
    node = shutil.which("node")
    if node is None:
        fail("node not found: the standard library is trimmed with Node (install Node.js, then `npm ci`)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "calc.zip").write_bytes(calc_zip)
        (work / "warm.py").write_text(warm_py, "utf-8")
        (work / "requests.json").write_text(json.dumps(requests), "utf-8")
        (work / "scan.py").write_text(f"EXTRA = {list(EXTRA_MODULES)!r}\n" + inspect.getsource(strip_docs) + SCAN_PY, "utf-8")
        files = (str(work / n) for n in ("calc.zip", "warm.py", "requests.json", "scan.py", "out.json"))
        done = subprocess.run([node, str(SCRIPT), str(pyodide_dir.resolve()), *files], capture_output=True, text=True)
        if done.returncode:
            fail(f"stdlib.mjs failed:\n{done.stderr[-3000:]}")
        return json.loads((work / "out.json").read_text("utf-8"))


def write(files: dict[str, str]) -> bytes:
    """A reproducible zip of these sources (sorted, fixed timestamps, deflate 9)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in sorted(files):
            member = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            member.external_attr = 0o644 << 16
            member.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(member, files[name].encode("utf-8"), compresslevel=9)
    return buffer.getvalue()


def trim(calc_zip: bytes, pyodide_dir: Path, warm_py: str, requests: list[dict]) -> tuple[str, bytes, dict]:
    """The trimmed zip: (its name under pyodide/, its bytes, its build-info entry: file, bytes, sha256,
    module count)."""
    found = modules(calc_zip, pyodide_dir, warm_py, requests)
    names = found["modules"]
    if "encodings" not in names:
        fail("the stdlib scan found no encodings package: Pyodide cannot start without it")
    data = write(found["files"])
    digest = hashlib.sha256(data).hexdigest()
    name = f"calc_stdlib-{digest[:16]}.zip"
    return name, data, {"file": f"pyodide/{name}", "bytes": len(data), "sha256": digest, "modules": len(names)}
