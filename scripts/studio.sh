#!/usr/bin/env bash
# Starts Fin-R1 Studio on a fresh machine: makes .venv if missing, installs the project, launches the
# app. Extra arguments go to finr1-studio.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv "."
exec .venv/bin/finr1-studio "$@"
