"""The command line's Hub client: fetches what calc/hub.py reads (standard library urllib only).

Outside the pure core: this is the one module of calc/ that opens network connections, and only
the command line imports it.  It honours the Hub's own environment variables, as huggingface_hub
does (https://huggingface.co/docs/huggingface_hub/package_reference/environment_variables):

- HF_ENDPOINT: the Hub's address (default https://huggingface.co);
- HF_TOKEN: sent as ``Authorization: Bearer <token>`` to the endpoint (never to the CDN host a
  download is redirected to);
- HF_HUB_OFFLINE=1: nothing is fetched, only the cache is read;
- HF_HOME (else XDG_CACHE_HOME, else ~/.cache): the cache is its ``llm-vram-calc/`` folder.

What is fetched for ``--model <repo>``: the model API's answer for the revision (its files and the
commit sha), config.json, model.safetensors.index.json and each shard's header (two Range reads:
the first 8 bytes, then the header), or a GGUF file's header (Range reads grown until the header
is whole).  Files are cached by commit sha, so a second run fetches only the model API's answer.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from calc.hub import HUB, HubRef, api_url, file_url

TIMEOUT_S = 30  # per request
FIRST_GGUF_READ = 1 << 20  # bytes of a GGUF file read first: most headers fit (the vocabulary is most of one)
USER_AGENT = "llm-vram-calc"


class HubFetchError(Exception):
    """A fetch that failed: the message names what failed and why."""


def endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or HUB).rstrip("/")


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def cache_dir() -> Path:
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]) / "llm-vram-calc"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "llm-vram-calc"


class _NoAuthAcrossHosts(urllib.request.HTTPRedirectHandler):
    """Follows the Hub's redirect to its CDN, keeping the Range header and dropping the token
    when the host changes (the CDN's URL is signed; the token is for the Hub alone)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urlsplit(newurl).netloc != urlsplit(req.full_url).netloc:
            new.headers.pop("Authorization", None)
            new.unredirected_hdrs.pop("Authorization", None)
        return new


_OPENER = urllib.request.build_opener(_NoAuthAcrossHosts)


class Hub:
    """One session's fetches: the endpoint, token, offline switch and cache from the environment."""

    def __init__(self):
        self.endpoint = endpoint()
        self.token = os.environ.get("HF_TOKEN") or None
        self.offline = offline()
        self.cache = cache_dir()
        self.requests = 0  # made this session (tests count them)

    # -- the cache ------------------------------------------------------------------------
    def _path(self, key: str) -> Path:
        return self.cache / (hashlib.sha256(f"{self.endpoint}\n{key}".encode()).hexdigest()[:40] + ".bin")

    def _cached(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except OSError:
            return None

    def _store(self, key: str, data: bytes) -> None:
        try:
            self.cache.mkdir(parents=True, exist_ok=True)
            tmp = self._path(key).with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(self._path(key))
        except OSError:
            pass  # a cache that cannot be written only costs a fetch next time

    # -- one request ----------------------------------------------------------------------
    def _get(self, url: str, what: str, start: int | None = None, end: int | None = None) -> bytes:
        """GET url (bytes start..end inclusive with a Range header); at most end - start + 1 bytes
        are read even from a server that ignores Range."""
        headers = {"User-Agent": USER_AGENT}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if start is not None:
            headers["Range"] = f"bytes={start}-{end}"
        self.requests += 1
        try:
            with _OPENER.open(urllib.request.Request(url, headers=headers), timeout=TIMEOUT_S) as resp:
                if start is None:
                    return resp.read()
                body = resp.read(end - start + 1 if resp.status == 206 else end + 1)
                return body if resp.status == 206 else body[start:]
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and start is not None:
                return b""  # the range starts past the file's end: nothing more to read
            raise HubFetchError(self._http_problem(exc, what)) from None
        except urllib.error.URLError as exc:
            raise HubFetchError(f"{what}: network error reaching {urlsplit(url).netloc}: {exc.reason}") from None
        except (TimeoutError, OSError) as exc:
            raise HubFetchError(f"{what}: network error reaching {urlsplit(url).netloc}: {exc}") from None

    def _http_problem(self, exc: urllib.error.HTTPError, what: str) -> str:
        code = exc.code
        if code == 401:
            if self.token:
                return f"{what}: 401 unauthorized: the Hub did not accept HF_TOKEN for this repo"
            return (
                f"{what}: 401 unauthorized: the repo is gated or private (or does not exist); "
                "set HF_TOKEN to a token that may read it"
            )
        if code == 403:
            return f"{what}: 403 forbidden: this token may not read the repo (a gated repo's terms must be accepted first)"
        if code == 404:
            return f"{what}: 404 not found (check the repo id, the revision and the file name)"
        if code == 429:
            after = (exc.headers.get("Retry-After") or "").strip() if exc.headers else ""
            wait = f"; retry after {after} seconds" if after.isdigit() and len(after) < 8 else "; retry later"
            return f"{what}: 429 too many requests: the Hub's rate limit{wait} (a token raises the limit)"
        return f"{what}: HTTP {code} {exc.reason}"

    def _offline_miss(self, what: str) -> HubFetchError:
        return HubFetchError(f"{what}: offline (HF_HUB_OFFLINE=1) and not in the cache ({self.cache})")

    # -- what calc/hub.py reads -------------------------------------------------------------
    def model_info(self, ref: HubRef) -> dict:
        """The model API's answer for the revision (fetched every run online: the revision may move)."""
        key = f"api\n{ref.repo}\n{ref.revision}"
        what = f"the Hub's file list of {ref.repo} at {ref.revision}"
        if self.offline:
            data = self._cached(key)
            if data is None:
                raise self._offline_miss(what)
        else:
            data = self._get(api_url(self.endpoint, ref), what)
            self._store(key, data)
        try:
            info = json.loads(data)
        except (ValueError, RecursionError):
            raise HubFetchError(f"{what}: the answer is not JSON") from None
        if not isinstance(info, (dict, list)):
            raise HubFetchError(f"{what}: the answer is not a model's file list")
        return info

    def read(self, ref: HubRef, file: str, start: int | None = None, end: int | None = None) -> bytes:
        """A file of the repo at the revision (its commit sha when known), or bytes start..end of it;
        cached by commit, so a second run reads the cache."""
        at = ref.sha or ref.revision
        key = f"file\n{ref.repo}\n{at}\n{file}\n{start}-{end}"
        data = self._cached(key) if ref.sha or self.offline else None
        what = f"{ref.repo}/{file} at {ref.revision}" + (f" (bytes {start:,}-{end:,})" if start is not None else "")
        if data is not None:
            return data
        if self.offline:
            raise self._offline_miss(what)
        data = self._get(file_url(self.endpoint, HubRef(ref.repo, at, None), file), what, start, end)
        self._store(key, data)
        return data
