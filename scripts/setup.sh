#!/usr/bin/env bash
# Create .venv and install the project into it (idempotent). With --dev, test tools as well.
#   scripts/setup.sh          runtime: what the service and the CLI need
#   scripts/setup.sh --dev    + pytest (what the tests need)
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    *) echo "usage: scripts/setup.sh [--dev]" >&2; exit 2 ;;
  esac
done

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
requirements=requirements.txt
[ "$dev" = 1 ] && requirements=requirements-dev.txt
# torch comes from PyPI (torch 2.14 + torchvision 0.29, built for each other); see requirements.txt.
.venv/bin/python -m pip install --disable-pip-version-check -q "setuptools>=68" -r "$requirements"
.venv/bin/python -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
