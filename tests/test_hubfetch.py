"""The command line's Hub client (calc/hubfetch.py, calc/cli.py --model <repo id or URL>) against
the fixture Hub on localhost (tests/hub_fixture.py), selected with HF_ENDPOINT: no network."""

from __future__ import annotations

import json

import pytest
from gguf_files import LLAMA_META, LLAMA_TENSORS, MMPROJ_BYTES, MMPROJ_META, MMPROJ_TENSORS, write
from hub_files import QWEN3_4B, QWEN3_4B_BYTES, header, llama_like_tensors, shards
from hub_fixture import LARGE, QWEN_REPO, QWEN_SHA, RATE_LIMITED, RETRY_AFTER, TOKEN, FixtureHub, Repo, qwen_files

from calc.cli import main

REPO, SHA = QWEN_REPO, QWEN_SHA


@pytest.fixture
def hub(monkeypatch, tmp_path):
    server = FixtureHub()
    qwen = qwen_files()
    server.repos[REPO] = Repo(qwen, sha=SHA, revisions=("main", "v1"))
    server.repos["org/gated"] = Repo(qwen, gated=True)
    one = header(llama_like_tensors(QWEN3_4B))
    server.repos["org/single"] = Repo({"config.json": qwen["config.json"], "model.safetensors": (one, LARGE * 8)})
    server.repos["org/broken"] = Repo(
        {"config.json": qwen["config.json"], "model.safetensors.index.json": qwen["model.safetensors.index.json"]}
    )
    gguf = write(LLAMA_META, LLAMA_TENSORS, data=False)
    mmproj = write(MMPROJ_META, MMPROJ_TENSORS, data=False)
    server.repos["org/tiny-GGUF"] = Repo(
        {"tiny-Q4_K_M.gguf": (gguf, LARGE * 2), "tiny-Q8_0.gguf": gguf, "mmproj-F16.gguf": mmproj, "README.md": b"hi"}
    )
    monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    yield server
    server.close()


def run(capsys, *args: str) -> tuple[int, dict | None, str]:
    code = main(["estimate", *args, "--json", "--no-recommend"])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if out.out.strip() else None), out.err


def test_a_repo_id_is_fetched_config_index_and_two_range_reads_a_shard(hub, capsys):
    code, r, err = run(capsys, "--model", REPO, "--engine", "vllm")
    assert code == 0, err
    assert r["memory"]["weights_bytes"] == QWEN3_4B_BYTES
    src = r["model"]["source"]
    assert (src["kind"], src["repo"], src["revision"], src["sha"], src["files"]) == ("hub", REPO, "main", SHA, 2)
    paths = [p for _, p, _ in hub.requests("hub")]
    assert paths[0] == f"/api/models/{REPO}/revision/main"
    # files are read at the commit the API named, so a moving branch cannot mix two commits
    assert f"/{REPO}/resolve/{SHA}/config.json" in paths
    ranges = [h.get("Range") for _, p, h in hub.log if "safetensors" in p and "index" not in p]
    first_len = int.from_bytes(next(iter(shards(llama_like_tensors(QWEN3_4B), 2)[0].values()))[:8], "little")
    assert "bytes=0-7" in ranges and f"bytes=8-{8 + first_len - 1}" in ranges
    assert all(r is not None for r in ranges)  # never the whole shard
    # the large shard went to the CDN host; a second run reads the cache and asks only the API
    assert len(hub.requests("cdn")) == 2
    before = len(hub.log)
    code, again, _ = run(capsys, "--model", REPO, "--engine", "vllm")
    assert code == 0 and again["memory"] == r["memory"]
    assert [p for _, p, _ in hub.log[before:]] == [f"/api/models/{REPO}/revision/main"]


def test_a_hub_url_and_a_revision(hub, capsys):
    code, r, err = run(capsys, "--model", f"{hub.endpoint}/{REPO}/tree/v1")
    assert code == 0, err
    assert r["model"]["source"]["revision"] == "v1"
    code, r, err = run(capsys, "--model", REPO, "--revision", "v1")
    assert code == 0 and r["model"]["source"]["revision"] == "v1"
    assert f"/api/models/{REPO}/revision/v1" in [p for _, p, _ in hub.log]
    code, r, err = run(capsys, "--model", REPO, "--revision", "nope")
    assert code == 2 and "404 not found" in err and "at nope" in err
    assert r["ok"] is False and r["error"]["code"] == "input_error" and "404" in r["error"]["message"]


def test_a_single_file_checkpoint_reads_model_safetensors(hub, capsys):
    code, r, err = run(capsys, "--model", "org/single", "--engine", "vllm")
    assert code == 0, err
    assert r["memory"]["weights_bytes"] == QWEN3_4B_BYTES and r["model"]["source"]["files"] == 1


def test_a_gated_repo_needs_hf_token_which_never_goes_to_the_cdn(hub, capsys, monkeypatch):
    code, r, err = run(capsys, "--model", "org/gated")
    assert code == 2 and "401 unauthorized" in err and "set HF_TOKEN" in err
    assert r["error"]["message"].startswith("--model org/gated: ")
    monkeypatch.setenv("HF_TOKEN", "hf_wrong")
    code, _, err = run(capsys, "--model", "org/gated")
    assert code == 2 and "did not accept HF_TOKEN" in err and "hf_wrong" not in err
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    code, r, err = run(capsys, "--model", "org/gated", "--engine", "vllm")
    assert code == 0, err
    assert r["memory"]["weights_bytes"] == QWEN3_4B_BYTES
    assert all(h.get("Authorization") == f"Bearer {TOKEN}" for _, _, h in hub.requests("hub")[-6:])
    assert hub.requests("cdn") and all("Authorization" not in h for _, _, h in hub.requests("cdn"))


@pytest.mark.parametrize(
    "model, words",
    [
        ("nobody/nothing", ["the Hub's file list of nobody/nothing at main", "404 not found"]),
        # the index names shards the repo does not hold
        ("org/broken", ["org/broken/model-00001-of-00002.safetensors", "404 not found"]),
        (RATE_LIMITED, ["429 too many requests", f"retry after {RETRY_AFTER} seconds"]),
        ("org/tiny-GGUF", ["holds GGUF files and no config.json", "--file", "Q4_K_M: tiny-Q4_K_M.gguf", "Q8_0: tiny-Q8_0.gguf"]),
    ],
)
def test_failures_say_what_failed(hub, capsys, model, words):
    code, r, err = run(capsys, "--model", model)
    assert code == 2 and len(err.splitlines()) == 1
    for w in words:
        assert w in err and w in r["error"]["message"]


def test_a_network_error_names_the_host(hub, capsys, monkeypatch):
    port = hub.hub.server_address[1]
    hub.close()
    code, _, err = run(capsys, "--model", REPO)
    assert code == 2 and f"network error reaching 127.0.0.1:{port}" in err
    hub.close = lambda: None  # already closed


def test_a_gguf_file_of_a_repo_by_file_or_url(hub, capsys):
    code, r, err = run(capsys, "--model", "org/tiny-GGUF", "--file", "tiny-Q4_K_M.gguf")
    assert code == 0, err
    src = r["model"]["source"]
    assert (src["kind"], src["repo"], src["file"], src["file_type"]) == ("hub", "org/tiny-GGUF", "tiny-Q4_K_M.gguf", "Q4_K_M")
    assert r["request"]["quant"] == "gguf_file"
    ranges = [h.get("Range") for _, p, h in hub.log if p.endswith(".gguf")]
    assert ranges and all(x and x.startswith("bytes=") for x in ranges)
    assert hub.requests("cdn")  # the large file was redirected
    code, by_url, err = run(capsys, "--model", f"{hub.endpoint}/org/tiny-GGUF/resolve/main/tiny-Q8_0.gguf")
    assert code == 0, err
    assert by_url["model"]["source"]["file"] == "tiny-Q8_0.gguf"
    code, _, err = run(capsys, "--model", "org/tiny-GGUF", "--file", "tiny-Q2_K.gguf")
    assert code == 2 and "has no GGUF file 'tiny-Q2_K.gguf'" in err and "Q4_K_M: tiny-Q4_K_M.gguf" in err


def test_offline_reads_the_cache_or_says_offline(hub, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, _, err = run(capsys, "--model", REPO)
    assert code == 2 and "offline (HF_HUB_OFFLINE=1) and not in the cache" in err
    assert hub.log == []
    monkeypatch.delenv("HF_HUB_OFFLINE")
    code, online, _ = run(capsys, "--model", REPO, "--engine", "vllm")
    assert code == 0
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    before = len(hub.log)
    code, offline, err = run(capsys, "--model", REPO, "--engine", "vllm")
    assert code == 0, err
    assert offline["memory"] == online["memory"] and len(hub.log) == before


def test_catalog_models_and_local_files_are_not_fetched(hub, capsys, tmp_path):
    code, r, _ = run(capsys, "--model", "qwen3-8b")
    assert code == 0 and r["model"]["source"]["kind"] == "catalog"
    code, r, _ = run(capsys, "--model", "Qwen/Qwen3-8B")  # a catalog model's repo id
    assert code == 0 and r["model"]["source"]["kind"] == "catalog"
    cfg = tmp_path / "org"
    cfg.mkdir()
    (cfg / "config.json").write_text(json.dumps(QWEN3_4B))
    code, r, _ = run(capsys, "--model", str(cfg / "config.json"))
    assert code == 0 and r["model"]["source"]["kind"] == "config"
    assert hub.log == []


@pytest.mark.parametrize("model", ["missing/config.json", "models/m-Q4_K_M.gguf"])
def test_a_missing_file_is_not_taken_for_a_repo_id(hub, capsys, model):
    code, _, err = run(capsys, "--model", model)
    assert code == 2 and "no such file" in err and hub.log == []


def test_an_mmproj_file_of_the_repo(hub, capsys):
    base = ["--model", "org/tiny-GGUF", "--file", "tiny-Q8_0.gguf"]
    code, plain, err = run(capsys, *base)
    assert code == 0, err
    code, with_mm, err = run(capsys, *base, "--mmproj", "mmproj-F16.gguf")
    assert code == 0, err
    assert with_mm["memory"]["weights_bytes"] - plain["memory"]["weights_bytes"] == MMPROJ_BYTES
    assert "mmproj_counted" in [w["code"] for w in with_mm["warnings"]]
    code, _, err = run(capsys, *base, "--mmproj", "mmproj-Q8_0.gguf")
    assert code == 2 and "has no file 'mmproj-Q8_0.gguf'; its mmproj files: mmproj-F16.gguf" in err
