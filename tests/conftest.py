import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from qa.encoder.model import ensure_default_model

    env = os.environ.get("QA_CACHE_DIR")
    return ensure_default_model(Path(env) if env else tmp_path_factory.mktemp("qa-cache"))


@pytest.fixture(scope="session")
def model(model_dir: Path):
    from qa.encoder.model import load_model

    return load_model(None, cache_dir=model_dir.parent.parent)


SEEDS = Path(__file__).resolve().parents[1] / "seeds"
DEV = Path(__file__).resolve().parent / "data" / "seeds-dev.jsonl"


@pytest.fixture(scope="session")
def cache_dir(model_dir: Path) -> Path:
    """The cache folder holding the converted default model, for CLI runs and Index calls."""
    return model_dir.parent.parent


@pytest.fixture(scope="session")
def seeds_index(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path):
    """The seeds corpus indexed once per test session with the default model."""
    from qa.api import Index

    return Index.build([SEEDS], tmp_path_factory.mktemp("seeds-index"), cache_dir=cache_dir)


@pytest.fixture()
def cli_env(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("QA_CACHE_DIR", str(cache_dir))
    return {**os.environ, "QA_CACHE_DIR": str(cache_dir)}


@pytest.fixture(scope="session")
def served(seeds_index, cache_dir, tmp_path_factory):
    """A real `qa serve` process on the seeds index, on a free loopback port."""
    from serving import Server

    srv = Server(seeds_index.folder, cache_dir, tmp_path_factory.mktemp("serve-proc") / "serve.log")
    yield srv
    srv.stop()
