"""Search aliases of catalog models: other names people type for a model, for the page's model search.

build.py puts them in the catalog the page embeds (each model's "aliases"); web/js/search.js matches
a query against them besides the name, id, family and Hugging Face repo id it already has, so an
alias is only what cannot be read off those: the family written as one word ("Llama 3.1" ->
"Llama3.1", so "llama3" and "gemma3" find their models) and the repo's name with and without its
instruction-tuned suffix ("-Instruct", Gemma's "-it"): the base repo and its instruct tune share one
architecture, so one catalog row answers for both.  A few added names (Qwen3-32B-Instruct) are
repos nobody published; as search words they still mean the right model.

Build time only (package.py leaves it out of the page's bundle); stdlib, no I/O.
"""

from __future__ import annotations

import re

_FAMILY_VERSION = re.compile(r"^(?P<word>[A-Za-z]+)[ -](?P<version>\d+(?:\.\d+)?)$")  # "Llama 3.1", "Phi-3"
_TUNED = re.compile(r"-(?:Instruct|instruct|it)(?=-|$)")  # the instruct tune's mark in a repo name
_SIZED = re.compile(r"^(?P<stem>.*-[\dx.]+[BbMm])(?P<rest>-v\d[\w.]*)?$")  # "Llama-3.1-70B", "Mistral-7B-v0.3"


def normalize(text: str) -> str:
    """A name as the search compares it: lower case, every run of characters other than letters,
    digits and dots one space ("Qwen/Qwen3-32B" -> "qwen qwen3 32b"); web/js/search.js does the same."""
    return " ".join(re.sub(r"[^a-z0-9.]+", " ", text.lower()).split())


def family_alias(family: str) -> str | None:
    """A family named as a word and a version number, written as one word ("Gemma 3" -> "Gemma3")."""
    match = _FAMILY_VERSION.match(family)
    return match["word"] + match["version"] if match else None


def tune_variant(tail: str) -> str | None:
    """The repo name's other half of a base / instruct pair: without the instruct mark when it has
    one ("Llama-3.3-70B-Instruct" -> "Llama-3.3-70B"), else with "-Instruct" after the size
    ("Mistral-7B-v0.3" -> "Mistral-7B-Instruct-v0.3"); None for a name with neither."""
    if _TUNED.search(tail):
        return _TUNED.sub("", tail, count=1)
    match = _SIZED.match(tail)
    return f"{match['stem']}-Instruct{match['rest'] or ''}" if match else None


def own_names(row: dict) -> set[str]:
    """The normalized names the search already reads off a catalog row (name, id, family, repo)."""
    repo = row["repo"]
    return {normalize(text) for text in (row["name"], row["id"], row["family"], repo, repo.split("/")[-1])}


def model_aliases(row: dict, taken: set[str]) -> list[str]:
    """A catalog row's aliases (row: id, name, family, repo), leaving out any that reads as one of
    its own names or as a name in `taken` (another model's: an alias must not point away from it)."""
    own = own_names(row)
    found: list[str] = []
    for alias in (family_alias(row["family"]), tune_variant(row["repo"].split("/")[-1])):
        key = normalize(alias or "")
        if key and key not in own and key not in taken and all(normalize(a) != key for a in found):
            found.append(alias)
    return found


def catalog_aliases(rows: list[dict]) -> dict[str, list[str]]:
    """{model id: its aliases} for catalog rows (the catalog op's models): a name another model
    owns is no alias of this one."""
    names = {row["id"]: own_names(row) for row in rows}
    aliases = {}
    for row in rows:
        taken = set().union(*(own for model, own in names.items() if model != row["id"]))
        aliases[row["id"]] = model_aliases(row, taken - names[row["id"]])
    return aliases
