"""The package builds without a setuptools warning, and its wheel carries every subpackage and data file."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A Python warning class (BuildBackendWarning, SetuptoolsDeprecationWarning, ...) or setuptools' "!!" banner.
WARNING = re.compile(r"\b\w+Warning\b|^\s*!!\s*$", re.M)


def test_the_wheel_builds_quietly_with_every_package_and_data_file(tmp_path):
    src = tmp_path / "src"
    # a copy, so the build's own folders (build/, *.egg-info) never land in the checkout
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", ".venv", "embeddings", "build", "*.egg-info",
                                                              "__pycache__", ".pytest_cache", ".hypothesis"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-v",
                           "-w", str(tmp_path / "dist"), str(src)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    warnings = [m.group(0) for m in WARNING.finditer(proc.stdout + proc.stderr)]
    assert not warnings, [ln for ln in (proc.stdout + proc.stderr).splitlines() if WARNING.search(ln)]
    names = set(zipfile.ZipFile(next((tmp_path / "dist").glob("qa-*.whl"))).namelist())
    packages = {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "qa").rglob("__init__.py")}
    assert {f"{p}/__init__.py" for p in packages} <= names
    assert {"qa/reader/weights/reader.safetensors", "qa/reader/weights/CARD.md", "qa/judge/weights/verifier.json",
            "qa/judge/weights/CARD.md", "qa/serving/web/index.html",
            "qa/serving/web/app.js", "qa/serving/web/style.css"} <= names
