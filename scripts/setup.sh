#!/usr/bin/env bash
# Create .venv and install the project into it (idempotent). With --dev, test tools as well.
#   scripts/setup.sh          runtime: what the service and the CLI need
#   scripts/setup.sh --dev    + pytest, Playwright and Debian's chromium (what the tests need)
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

# The browser test drives Debian's chromium through Playwright (never `playwright install`).
if [ "$dev" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  echo "setup: installing Debian's chromium for tests/test_web_browser.py" >&2
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "setup: installing chromium needs root (or sudo)" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium chromium-driver \
    || { echo "setup: could not install chromium with apt-get (the browser test needs /usr/bin/chromium)" >&2; exit 1; }
  [ -x /usr/bin/chromium ] || { echo "setup: apt-get ran but /usr/bin/chromium is still missing" >&2; exit 1; }
fi
