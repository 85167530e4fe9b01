#!/usr/bin/env bash
# Creates .venv with qa, its test tools and Ray (the tests run it); safe to run again; prints only errors. torch is pinned first so that no
# other package can pull in a different (CUDA) build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -qq --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -qq --disable-pip-version-check "torch==2.13.0"
.venv/bin/python -m pip install -qq --disable-pip-version-check -e ".[test,ray]"
