"""Indexing on Ray with the real model: a local Ray, and a two-node cluster on this machine with one
worker killed by SIGKILL part-way. Each must give the index a local build gives.

The corpus is the seeds and 200 cmrc2018-train paragraphs, kept small: Ray and a model per worker
are heavy on a 2-core machine.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from qa.api import Index  # noqa: E402
from qa.encoder.embedder import passage_text  # noqa: E402
from qa.index import build as build_mod  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
CMRC = ROOT.parent / "shared" / "bench" / "cmrc2018-train" / "corpus.jsonl"
if not CMRC.is_file():
    CMRC = Path("/work/shared/bench/cmrc2018-train/corpus.jsonl")
PARAGRAPHS = 200


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("ray-corpus")
    with CMRC.open(encoding="utf-8") as f:
        lines = [next(f) for _ in range(PARAGRAPHS)]
    (folder / "cmrc.jsonl").write_text("".join(lines), encoding="utf-8")
    return [SEEDS, folder / "cmrc.jsonl"]


@pytest.fixture(scope="module")
def local(corpus, cache_dir, tmp_path_factory) -> Index:
    return Index.build(corpus, tmp_path_factory.mktemp("local"), cache_dir=cache_dir)


def assert_same_index(a: Index, b: Index) -> None:
    assert [passage_text(p) for p in a.passages] == [passage_text(p) for p in b.passages]
    assert a.passages == b.passages
    va, vb = np.asarray(a.stored.vectors), np.asarray(b.stored.vectors)
    assert va.shape == vb.shape
    assert np.min(np.sum(va * vb, axis=1)) >= 0.9999  # unit vectors: this is the cosine
    assert a.stored.lexical.vocab == b.stored.lexical.vocab
    for q in ("株洲市中心医院的党委书记是谁？", "荆州市第一人民医院", "范廷颂是什么时候被任为主教的？"):
        assert np.array_equal(a.stored.lexical.scores(q), b.stored.lexical.scores(q)), q
    ga, gb = a.stored.generation, b.stored.generation
    for name in ("passages.jsonl", "keys.txt", "lexical/tokens.tsv", "lexical/data.csc.index.npy"):
        assert (ga / name).read_bytes() == (gb / name).read_bytes(), name
    skip = {"created", "files", "engine"}
    ma = {k: v for k, v in a.manifest.items() if k not in skip}
    mb = {k: v for k, v in b.manifest.items() if k not in skip}
    assert ma == mb
    assert set(a.manifest["files"]) == set(b.manifest["files"])


def test_a_local_ray_builds_the_same_index(corpus, local, cache_dir, tmp_path):
    on_ray = Index.build(corpus, tmp_path / "ray", cache_dir=cache_dir, ray=True)
    assert on_ray.manifest["engine"] == "ray" and local.manifest["engine"] == "local"
    assert_same_index(local, on_ray)
    assert not ray.is_initialized()  # the Ray started for the build was stopped
    # incremental: nothing new is sent out, and the index is left as it is
    again = Index.build(corpus, tmp_path / "ray", cache_dir=cache_dir, ray=True)
    assert again.stored.generation == on_ray.stored.generation


def _embed_workers() -> list:
    import psutil

    return [p for p in psutil.process_iter(["cmdline"])
            if any("_EmbedActor" in part for part in (p.info["cmdline"] or []))]


def test_a_two_node_cluster_survives_a_killed_worker(corpus, local, cache_dir, tmp_path, monkeypatch):
    import psutil
    from ray.cluster_utils import Cluster

    monkeypatch.setattr(build_mod, "CHUNK", 16)  # many tasks, so one is under way when the worker dies
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        killed: list[int] = []
        seen_workers: list[int] = []

        def kill_one_worker() -> None:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline and not killed:
                try:
                    workers = _embed_workers()
                    seen_workers[:] = [p.pid for p in workers]
                    # wait until both workers run (the model loaded, chunks under way), then kill one
                    if len(workers) >= 2 and all(p.cpu_times().user > 3 for p in workers):
                        time.sleep(2)
                        os.kill(workers[0].pid, signal.SIGKILL)
                        killed.append(workers[0].pid)
                except (psutil.Error, ProcessLookupError):
                    pass  # a worker that went away while looked at
                time.sleep(0.2)

        killer = threading.Thread(target=kill_one_worker, daemon=True)
        killer.start()
        built = Index.build(corpus, tmp_path / "cluster", cache_dir=cache_dir, ray=cluster.address)
        killer.join(timeout=5)
        assert killed, f"no worker was killed (workers seen: {seen_workers})"
        assert built.manifest["engine"] == "ray"
        assert_same_index(local, built)
        reopened = Index.open(tmp_path / "cluster")
        assert len(reopened.passages) == len(local.passages)
        assert json.loads((reopened.stored.generation / "manifest.json").read_text())["passages"] == len(local.passages)
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()


def test_without_ray_the_cli_says_how_to_install_it(tmp_path, monkeypatch, cli_env):
    import sys

    from typer.testing import CliRunner

    from qa.cli import app

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails, as where it is not installed
    res = CliRunner().invoke(app, ["index", str(SEEDS), "--index", str(tmp_path / "idx"), "--ray"])
    assert res.exit_code == 1
    assert res.stderr.strip() == 'error: indexing on Ray needs the ray package: pip install "qa[ray]"'
    assert not (tmp_path / "idx" / "CURRENT").exists()


def test_the_ray_option_takes_an_optional_address():
    from qa.cli import _ray_option

    p = [Path("docs"), Path("--ray")]
    assert _ray_option(p) == ([Path("docs")], True)
    assert _ray_option([Path("--ray"), Path("10.1.2.3:6379"), Path("docs")]) == ([Path("docs")], "10.1.2.3:6379")
    assert _ray_option([Path("docs"), Path("--ray=ray://head:10001")]) == ([Path("docs")], "ray://head:10001")
    assert _ray_option([Path("--ray"), Path("docs")]) == ([Path("docs")], True)
    assert _ray_option([Path("docs")]) == ([Path("docs")], None)
