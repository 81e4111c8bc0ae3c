"""The page's memory snapshot: Pyodide with the calculator imported, every data file read and every
kind of request answered once, so a restored worker answers at once (no calc archive, no imports).

build.py calls build(zip bytes, Pyodide folder, version, stdlib zip bytes) -> (file name, gzip bytes,
build-info entry).  Node (the one `npm ci` needs) runs snapshot.mjs with the page's trimmed standard
library (stdlib.py), the one the worker boots with; the snapshot is deterministic, gzip-compressed
with mtime 0 and named by its hash, and checked before it ships: the restored runtime, with no calc
files, and a runtime booted from the calc archive the way the worker boots without a snapshot, must
each answer warm_requests() exactly as CPython does (a module the trimmed zip lacks fails here).
web/js/worker.js checks its length and sha256 before restoring it and boots normally when it cannot.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SCRIPT = ROOT / "snapshot.mjs"
GZIP_LEVEL = 6  # 9 saves 1% (6.80 vs 6.88 MB) for 5x the build time

# Run inside Pyodide before the snapshot: every module of the bundle imported, every data file read
# (calc.catalog.read_data keeps what it read; the files are gone after a restore).
WARM_PY = """
import importlib, os, calc, calc.catalog
root = os.path.dirname(calc.__file__)
for folder, _, names in sorted(os.walk(root)):
    for name in sorted(names):
        rel = os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")
        if rel.endswith(".py"):
            module = ("calc/" + rel[:-3]).removesuffix("/__init__").replace("/", ".")
            importlib.import_module(module)
        elif rel.startswith("data/"):
            calc.catalog.read_data(rel[len("data/"):])
"""

LLAMA_CONFIG = {  # a custom config.json (Llama 3.1 8B's shape)
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "vocab_size": 128256,
    "max_position_embeddings": 131072,
    "torch_dtype": "bfloat16",
}
HUB_LISTING = {
    "id": "org/model",
    "sha": "0123456789abcdef0123456789abcdef01234567",
    "siblings": [
        {"rfilename": "config.json"},
        {"rfilename": "model.safetensors"},
        {"rfilename": "model-Q4_K_M.gguf", "size": 100},
    ],
}


def warm_requests() -> list[dict]:
    """One request of every kind the page sends: each op, each engine, both languages, a custom
    config, a GGUF header too short to read, a Hub reference with and without its file list, errors."""
    from calc.api import handle

    catalog = handle({"op": "catalog"})
    engines = [e["id"] for e in catalog["engines"]]
    out: list[dict] = [{"op": "catalog"}, {"op": "model", "model": "deepseek-v3"}]
    for lang in ("en", "zh"):
        out.append({"op": "view", "lang": lang})
        for engine in engines:
            quant = next(f["id"] for f in catalog["formats"] if engine in f["engines"])
            out.append({"op": "view", "lang": lang, "engine": engine, "quant": quant, "model": "llama-3.1-8b", "gpus": 1})
        out.append({"op": "view", "lang": lang, "config": LLAMA_CONFIG})
        out.append({"op": "view", "lang": lang, "model": "qwen3-coder-480b-a35b-instruct", "gpu": "rtx-4090", "gpus": 2})
    out += [
        {"op": "estimate", "model": "llama-3.1-70b", "engine": "vllm", "quant": "awq", "gpus": 2, "batch": 4},
        {"op": "gguf", "gguf": "R0dVRgMAAAA="},  # "GGUF", version 3, then nothing: asks for more bytes
        {"op": "gguf", "gguf": "R0dNTA=="},  # "GGML": not a GGUF file
        {"op": "hub", "hub": "org/model"},
        {"op": "hub", "hub": "org/model", "hub_listing": HUB_LISTING},
        {"op": "estimate", "model": "no-such-model"},
        {"op": "view", "context": -1},
    ]
    return out


# The runtimes snapshot.mjs checks: (what it is, its answers' file out.<kind>.json).
BOOTS = (("restored snapshot", "answers"), ("archive boot with the trimmed stdlib", "archive"))


def plain(value):
    """A value as it looks after a trip through JSON."""
    return json.loads(json.dumps(value))


def fail(message: str) -> None:
    raise SystemExit(f"build.py: error: {message}")


def build(calc_zip: bytes, pyodide_dir: Path, pyodide_version: str, stdlib_zip: bytes) -> tuple[str, bytes, dict]:
    """The snapshot file for this calc archive and standard library: (name, gzip bytes, its entry in
    build-info.json: file, bytes and sha256 of the uncompressed snapshot, the Pyodide version it
    belongs to).  It is restored only with the same stdlib zip (its zipimport directory is in memory)."""
    from calc.api import handle

    node = shutil.which("node")
    if node is None:
        fail("node not found: the snapshot is made with Node (install Node.js, then `npm ci`)")
    requests = warm_requests()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "calc.zip").write_bytes(calc_zip)
        (work / "stdlib.zip").write_bytes(stdlib_zip)
        (work / "warm.py").write_text(WARM_PY, "utf-8")
        (work / "requests.json").write_text(json.dumps(requests), "utf-8")
        files = (str(work / n) for n in ("stdlib.zip", "calc.zip", "warm.py", "requests.json", "out"))
        done = subprocess.run([node, str(SCRIPT), str(pyodide_dir.resolve()), *files], capture_output=True, text=True)
        if done.returncode:
            fail(f"snapshot.mjs failed:\n{done.stderr[-3000:]}")
        raw = (work / "out").read_bytes()
        answers = {boot: json.loads((work / f"out.{kind}.json").read_text("utf-8")) for boot, kind in BOOTS}
    for boot, got in answers.items():
        for request, answer in zip(requests, got, strict=True):
            if answer != plain(handle(request)):
                fail(f"the {boot} answers {request!r} unlike CPython:\n{json.dumps(answer)[:1000]}")
    digest = hashlib.sha256(raw).hexdigest()
    name = f"snapshot-{digest[:16]}.bin.gz"
    data = gzip.compress(raw, GZIP_LEVEL, mtime=0)
    return name, data, {"file": name, "bytes": len(raw), "sha256": digest, "pyodide": pyodide_version}
