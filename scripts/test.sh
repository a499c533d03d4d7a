#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: makes .venv if missing, installs the project with its
# test extra (llama-cpp-python compiles llama.cpp the first time, ~5 min; pip caches the wheel), then
# checks style and types, and runs pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv ".[test]"
.venv/bin/ruff check app quant foundation tests bench
.venv/bin/mypy  # app, quant and foundation: [tool.mypy] in pyproject.toml
QT_QPA_PLATFORM=offscreen exec .venv/bin/python -m pytest "$@"
