"""The one boundary: a JSON request in, a JSON result out; errors come back as data.

The page (through Pyodide), the CLI and the tests all call :func:`handle` (plain
dicts) or :func:`handle_json` (text).  Every number is in bytes, tokens,
parameters or seconds; units are chosen by whoever displays them.

The request's fields are documented in calc/request.py (``python -m calc estimate --help`` offers a
flag for each); every answer's fields are declared and documented in calc/result.py: ``Estimate``
(op "estimate", the default), ``ViewAnswer`` (op "view": the page's words and numbers,
calc/present.py), ``ModelAnswer`` (op "model"), ``GgufAnswer`` (op "gguf": a GGUF header read), ``HubAnswer`` (op "hub"),
``CatalogAnswer`` (op "catalog") and ``Failure`` (``ok`` false; ``error.code`` says what went wrong
and ``error.field`` which request field).
"""

from __future__ import annotations

import json
from collections import OrderedDict

from calc import catalog
from calc.cache import lru
from calc.engines import engines, releases
from calc.errors import CalcError, clean
from calc.estimate import estimate, resolve_model
from calc.i18n import localized
from calc.jsonsafe import MAX_CONFIG_CHARS, JsonTooLarge, read_json
from calc.model import describe, model_rows_summary
from calc.present import view
from calc.request import DEFAULTS, MAX_GGUF_BYTES, Request, parse_request
from calc.result import SCHEMA, CatalogAnswer, GgufAnswer, HubAnswer, ModelAnswer, ViewAnswer, failure, to_json

# A request carries at most a 5 MB config.json, as text with every character escaped at worst.
MAX_REQUEST_CHARS = 6 * MAX_CONFIG_CHARS + 10_000


def _catalog() -> CatalogAnswer:
    """Everything the page's form lists: models, formats, KV types, engines, GPUs, and the defaults."""
    return CatalogAnswer(
        ok=True,
        schema=SCHEMA,
        op="catalog",
        defaults=dict(DEFAULTS),
        models=model_rows_summary(),
        formats=[
            {"id": f.id, "label": f.label, "family": f.family, "engines": list(f.engines)} for f in catalog.formats().values()
        ],
        kv_types=[{"id": k.id, "label": k.label, "engines": list(k.engines)} for k in catalog.kv_types().values()],
        engines=[
            {
                "id": e.id,
                "label": e.label,
                "default_kv_cache": e.default_kv_cache,
                "versions": [{"id": r.version, "label": r.label, "source": r.source} for r in releases(e.id)],
            }
            for e in engines().values()
        ],
        gpus=[
            {
                "id": g.id,
                "name": g.name,
                "vendor": g.vendor,
                "segment": g.segment,
                "memory_bytes": g.memory_bytes,
                "usable_bytes": g.usable_bytes,
                "bandwidth_bytes_per_s": g.bandwidth_bytes_per_s,
                "bf16_tflops": g.bf16_tflops,
                "price_usd": g.price_usd or None,
                "source": g.source,
            }
            for g in catalog.gpus().values()
        ],
    )


def _gguf(req: Request) -> GgufAnswer:
    """op "gguf": the header read into a model and its compact form, or how many bytes it needs."""
    import base64

    from calc.gguf import GgufTruncated
    from calc.gguf_model import compact_header, gguf_model

    if req.gguf is None:
        raise CalcError("missing_field", "op", 'op "gguf" needs gguf: the first bytes of the file, base64')
    try:
        small = compact_header(req.gguf)
    except GgufTruncated as exc:
        if exc.needed > MAX_GGUF_BYTES:
            raise CalcError(
                "out_of_range", "gguf", f"the GGUF header is larger than the {MAX_GGUF_BYTES // 2**20} MiB this calculator reads"
            ) from None
        return GgufAnswer(True, SCHEMA, "gguf", False, getattr(exc, "part", 0), exc.needed, None, None)
    model = gguf_model((small,), req.gguf_name)
    return GgufAnswer(True, SCHEMA, "gguf", True, None, None, base64.b64encode(small).decode("ascii"), describe(model))


def _hub(req: Request) -> HubAnswer:
    """op "hub": the repo reference normalised and, with hub_listing, the repo's files read."""
    from calc.hub import listing

    if req.hub is None:
        raise CalcError("missing_field", "hub", 'op "hub" needs hub: a repo id or Hub URL')
    ref = req.hub
    if req.hub_listing is None:
        return HubAnswer(True, SCHEMA, "hub", ref.repo, ref.revision, ref.file, False, ref.sha, False, False, None, [], [], [])
    ls = listing(req.hub_listing)
    gguf = [{"quant": g.quant, "files": list(g.files), "size": g.size} for g in ls.gguf]
    return HubAnswer(
        True,
        SCHEMA,
        "hub",
        ref.repo,
        ref.revision,
        ref.file,
        True,
        ls.sha or ref.sha,
        ls.gated,
        ls.config,
        ls.index,
        list(ls.safetensors),
        gguf,
        list(ls.mmproj),
    )


def _run(req: Request):
    """The typed answer of a parsed request (calc/result.py)."""
    if req.op == "catalog":
        return _catalog()
    if req.op == "gguf":
        return _gguf(req)
    if req.op == "hub":
        return _hub(req)
    if req.op == "model":
        return ModelAnswer(True, SCHEMA, "model", describe(resolve_model(req)))
    answer = estimate(req)
    if req.op == "view":  # the page's words and numbers for this estimate (calc/present.py)
        return ViewAnswer(True, SCHEMA, "view", view(to_json(answer), req.lang))
    return answer


def handle(request) -> dict:
    """A request dict -> a result dict; never raises (errors come back as ``ok: false``)."""
    try:
        answer = _run(parse_request(request))
        if type(answer) is ViewAnswer:  # present.view builds every container of the view afresh, from a
            return answer._asdict()  # fresh copy of the estimate (to_json): a second deep copy adds nothing
        return to_json(answer)
    except CalcError as exc:  # in the request's language where the error has a catalog text
        lang = request.get("lang") if isinstance(request, dict) else None
        return failure(exc.code, exc.field, localized(exc, lang if isinstance(lang, str) else "en"))
    except RecursionError:
        return failure("bad_config", "config", "config.json is nested too deeply")
    except Exception as exc:  # noqa: BLE001 - a bug; the page still gets an answer (tests/test_hostile.py hunts these)
        return failure("internal_error", None, f"the calculator failed on this request ({type(exc).__name__}); please report it")


# The latest answers by request text.  The page asks the same question again and again: the context
# slider snaps to powers of two, so most steps of a drag repeat the context just answered, and each
# ask rebuilt the whole view (0.66 ms of CPython's 0.8 for a new one; 2-4 ms in Pyodide).  An answer
# is a function of its request alone (no I/O, no clock, caches hold values only), so a repeated text
# gets the same text back.  Short requests only: a GGUF header or a config.json is not kept twice.
_ANSWERS: OrderedDict[str, str] = OrderedDict()
ANSWERS_KEPT = 16
ANSWER_KEY_CHARS = 4096


def handle_json(text: str) -> str:
    """JSON text in, JSON text out: the function the page calls through Pyodide."""
    if isinstance(text, str) and len(text) <= ANSWER_KEY_CHARS:
        return lru(_ANSWERS, text, lambda: _answer_json(text), ANSWERS_KEPT)
    return _answer_json(text)


def _answer_json(text: str) -> str:
    try:
        if isinstance(text, str) and len(text) > MAX_REQUEST_CHARS:
            raise JsonTooLarge(f"is longer than {MAX_REQUEST_CHARS:,} characters")
        request = read_json(text)
    except RecursionError:
        answer = failure("bad_json", None, "the request is not valid JSON: it is nested too deeply")
    except JsonTooLarge as exc:
        answer = failure("out_of_range", None, f"the request {exc}")
    except (TypeError, ValueError) as exc:
        answer = failure("bad_json", None, f"the request is not valid JSON: {clean(str(exc), 120)}")
    else:
        answer = handle(request)
    try:
        return json.dumps(answer, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):  # a bug (a NaN in a result); still an answer
        return json.dumps(failure("internal_error", None, "the calculator produced an invalid result; please report it"))
