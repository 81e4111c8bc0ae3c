"""The service worker of a built site: sw.js, rendered from web/templates/sw.js.j2.

Its version is a hash of every other file of the build, so any change to the site gives a new cache
and the old one is deleted when the new worker activates.  A deploy that changes files in place
calls write_service_worker(folder) again (tests/browser/test_offline.py does).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "web" / "templates" / "sw.js.j2"
# Files the service worker does not keep for offline use: the wheel (for notebooks, not the page),
# the build's own metadata, and Pyodide's stock standard library (the worker boots with the trimmed
# one, stdlib.py; the stock zip is its fallback, fetched only should that fail).  Model pages: read online.
OFFLINE_SKIP = ("wheels/", "build-info.json", "sw.js", "models/", "zh/models/", "pyodide/python_stdlib.zip")
# Pages served as folders (/zh/ is zh/index.html); the root page is "./".
FOLDER_PAGES = ("zh/",)


def site_files(folder: Path) -> list[str]:
    """Every file of the build, as sorted paths relative to `folder`."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def version(folder: Path) -> str:
    """sha256 over (name, NUL, content) of every file but sw.js, in name order; 16 hex digits."""
    digest = hashlib.sha256()
    for name in site_files(folder):
        if name != "sw.js":
            digest.update(name.encode() + b"\0" + (folder / name).read_bytes())
    return digest.hexdigest()[:16]


def offline_files(folder: Path) -> list[str]:
    """What the worker caches at install: the pages by the URLs they are visited at, then every file
    but OFFLINE_SKIP."""
    files = [f for f in site_files(folder) if not f.startswith(OFFLINE_SKIP)]
    pages = ["./"] + [p for p in FOLDER_PAGES if p + "index.html" in files]
    return pages + files


def render(version_id: str, files: list[str]) -> str:
    """sw.js.j2 with its two values; tojson escapes what could end a string."""
    from jinja2 import Environment, StrictUndefined

    env = Environment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)
    return env.from_string(TEMPLATE.read_text("utf-8")).render(version=version_id, files=files)


def write_service_worker(folder: Path) -> None:
    """Write folder/sw.js for the files now in `folder`."""
    text = render(version(folder), offline_files(folder))
    (folder / "sw.js").write_text(text, "utf-8")
