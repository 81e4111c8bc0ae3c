"""A fixture Hugging Face Hub on 127.0.0.1 (random ports), for the tests: no network.

It mimics the Hub's URL layout (huggingface_hub's constants and the Hub's API):

- ``/api/models/<repo>`` and ``/api/models/<repo>/revision/<rev>``: {id, sha, gated, siblings: [{rfilename, size}]};
- ``/<repo>/resolve/<rev>/<file>``: the file, answering ``Range: bytes=a-b`` with 206; a file of
  LARGE bytes or more is a 302 redirect to a second "CDN" server, as the Hub sends LFS files to its CDN;
- 401 for a gated repo without ``Authorization: Bearer <TOKEN>``, 404 for what is not there, 429
  with Retry-After for the repo RATE_LIMITED.

A file is (its first bytes, its size): past the given bytes it reads as zeros, so a 8 GB
checkpoint is served from its header alone.  Every GET is recorded (server, path, headers), every
CORS preflight (OPTIONS) apart.  Both servers answer as the Hub does for a page on another origin:
``Access-Control-Allow-Origin: *`` on every answer, errors and redirects included.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from hub_files import QWEN3_4B, llama_like_tensors, shards

TOKEN = "hf_fixture_token"
LARGE = 1 << 20  # files this large or more are redirected to the CDN
RATE_LIMITED = "busy/model"
RETRY_AFTER = "17"
QWEN_REPO = "Qwen/Qwen3-4B-Instruct-2507"  # not in the catalog
QWEN_SHA = "0123456789abcdef0123456789abcdef01234567"


def qwen_files() -> dict:
    """Qwen3-4B's repo as the Hub stores it: config.json, the safetensors index and two shards, the
    first large (redirected to the CDN, as the Hub sends LFS files), the second small."""
    files, index = shards(llama_like_tensors(QWEN3_4B), 2)
    return {
        "config.json": json.dumps(QWEN3_4B).encode(),
        "model.safetensors.index.json": json.dumps(index).encode(),
        **{name: (data, LARGE * 4 if i == 0 else len(data)) for i, (name, data) in enumerate(files.items())},
    }


class Repo:
    def __init__(self, files: dict, gated: bool = False, sha: str = "a" * 40, revisions=("main",)):
        # files: path -> bytes, or (first bytes, size)
        self.files = {k: (v, len(v)) if isinstance(v, bytes) else v for k, v in files.items()}
        self.gated, self.sha, self.revisions = gated, sha, set(revisions) | {sha}


class FixtureHub:
    def __init__(self):
        self.repos: dict[str, Repo] = {}
        self.log: list[tuple[str, str, dict]] = []  # (server "hub" or "cdn", path, headers)
        self.preflights: list[tuple[str, str, dict]] = []
        self.hub = self._server("hub")
        self.cdn = self._server("cdn")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.hub.server_address[1]}"

    def requests(self, server: str | None = None) -> list[tuple[str, str, dict]]:
        return [r for r in self.log if server is None or r[0] == server]

    def close(self) -> None:
        for s in (self.hub, self.cdn):
            s.shutdown()
            s.server_close()

    def _server(self, role: str) -> ThreadingHTTPServer:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # http.server's name
                hub.log.append((role, self.path, dict(self.headers.items())))
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    hub._answer(role, self)

            def do_OPTIONS(self):  # http.server's name: a CORS preflight (a token's Authorization header)
                hub.preflights.append((role, self.path, dict(self.headers.items())))
                allow = {"Access-Control-Allow-Headers": "Range, Authorization", "Access-Control-Allow-Methods": "GET"}
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    hub._send(self, 204, b"", allow)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return server

    # -- answers ---------------------------------------------------------------------------
    def _send(self, h, status: int, body: bytes = b"", headers: dict | None = None) -> None:
        h.send_response(status)
        h.send_header("Access-Control-Allow-Origin", "*")
        h.send_header("Access-Control-Expose-Headers", "Content-Range, Retry-After")
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _json(self, h, status: int, value) -> None:
        self._send(h, status, json.dumps(value).encode(), {"Content-Type": "application/json"})

    def _authorized(self, h, repo: Repo) -> bool:
        return not repo.gated or h.headers.get("Authorization") == f"Bearer {TOKEN}"

    def _answer(self, role: str, h) -> None:
        path = urlsplit(h.path).path
        if role == "cdn":
            hit = re.fullmatch(r"/blob/([^/]+/[^/]+)/(.+)", path)
            repo = self.repos.get(hit.group(1)) if hit else None
            file = repo.files.get(unquote(hit.group(2))) if repo else None
            return self._serve(h, file) if file else self._send(h, 404)
        api = re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/([^/]+))?", path)
        res = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        name = api.group(1) if api else res.group(1) if res else None
        if name == RATE_LIMITED:
            return self._send(h, 429, b"", {"Retry-After": RETRY_AFTER})
        repo = self.repos.get(name) if name else None
        if repo is None:
            return self._json(h, 404 if name else 400, {"error": "Repository not found"})
        if not self._authorized(h, repo):
            return self._json(h, 401, {"error": "Access to this model is restricted"})
        rev = unquote((api.group(2) if api else res.group(2)) or "main")
        if rev not in repo.revisions:
            return self._json(h, 404, {"error": "Revision not found"})
        if api:
            siblings = [{"rfilename": f, "size": size} for f, (_, size) in sorted(repo.files.items())]
            return self._json(
                h, 200, {"id": name, "sha": repo.sha, "gated": "manual" if repo.gated else False, "siblings": siblings}
            )
        file_name = unquote(res.group(3))
        file = repo.files.get(file_name)
        if file is None:
            return self._json(h, 404, {"error": "Entry not found"})
        if file[1] >= LARGE:
            cdn = f"http://127.0.0.1:{self.cdn.server_address[1]}/blob/{name}/{res.group(3)}"
            return self._send(h, 302, b"", {"Location": cdn})
        return self._serve(h, file)

    def _serve(self, h, file: tuple[bytes, int]) -> None:
        data, size = file
        rng = re.fullmatch(r"bytes=(\d+)-(\d*)", h.headers.get("Range") or "")
        if not rng:
            return self._send(h, 200, data + b"\0" * (size - len(data)))
        start = int(rng.group(1))
        end = min(int(rng.group(2)) if rng.group(2) else size - 1, size - 1)
        if start >= size:
            return self._send(h, 416, b"", {"Content-Range": f"bytes */{size}"})
        body = data[start : end + 1]
        body += b"\0" * (end + 1 - start - len(body))
        self._send(h, 206, body, {"Content-Range": f"bytes {start}-{end}/{size}"})
