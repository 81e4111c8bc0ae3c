#!/usr/bin/env python3
"""Serve a built site (dist/ by default) on http://127.0.0.1:PORT/ with the headers a static host gives it.

    python devserver.py [FOLDER] [--port 8000]

`python build.py --serve` builds and then serves through this module; the browser tests and
`python -m bench` use make_server on a free port.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import re
import sys
from pathlib import Path
from typing import ClassVar

# MIME types Pyodide needs: its loader is an ES module and the interpreter is compiled with
# WebAssembly.instantiateStreaming, which refuses any type but application/wasm.
MIME = {
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".wasm": "application/wasm",
    ".json": "application/json",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".gz": "application/gzip",  # the snapshot, as a static host sends it: no Content-Encoding
}
# build.py names the page's archive calc-<sha256[:8]>.zip and its snapshot snapshot-<sha256[:16]>.bin.gz:
# a new content is a new name.
IMMUTABLE = re.compile(r"/(calc-[0-9a-f]{8}\.zip|snapshot-[0-9a-f]{16}\.bin\.gz)(\?|$)")


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files with the MIME types Pyodide needs.  Content-hashed names (calc-<hash>.zip, snapshot-<hash>.bin.gz) are
    cached for a year; everything else is revalidated on every visit (the service worker keeps a
    versioned copy for repeat and offline visits).  cache=False sends no-store on everything."""

    extensions_map: ClassVar[dict[str, str]] = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME}
    cache = True

    def end_headers(self):
        if not self.cache:
            self.send_header("Cache-Control", "no-store")
        elif IMMUTABLE.search(self.path):
            self.send_header("Cache-Control", "public, max-age=31536000, immutable")
        else:
            self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    """A threaded static server that does not print a traceback when the browser drops a connection."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def make_server(folder: Path, port: int = 0, cache: bool = True) -> Server:
    """A server for `folder` on 127.0.0.1:port (0: a free port); call serve_forever() on it."""
    handler = functools.partial(type("Site", (Handler,), {"cache": cache}), directory=str(folder))
    return Server(("127.0.0.1", port), handler)


def serve(folder: Path, port: int = 8000) -> None:
    """Serve `folder` until Ctrl-C."""
    server = make_server(folder, port)
    print(f"serving {folder} on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=Path(__file__).resolve().parent / "dist")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    if not (args.folder / "index.html").is_file():
        raise SystemExit(f"devserver.py: error: {args.folder} holds no built site: run `python build.py`")
    serve(args.folder.resolve(), args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
