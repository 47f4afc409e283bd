#!/usr/bin/env bash
# Create .venv and install the project into it (idempotent). With --dev, test tools as well.
#   scripts/setup.sh          runtime: what the service and the CLI need
#   scripts/setup.sh --dev    + pytest, Playwright, Debian's chromium, redis-server and PostgreSQL (what the tests need)
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

# The tests drive Debian's chromium through Playwright (never `playwright install`) and start a
# real redis-server (the Celery job backend's broker) and PostgreSQL (the shared job store); all
# three come from Debian.
if [ "$dev" = 1 ]; then
  packages=""
  [ -x /usr/bin/chromium ] || packages="$packages chromium chromium-driver"
  command -v redis-server >/dev/null || packages="$packages redis-server"
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || packages="$packages postgresql"
  if [ -n "$packages" ]; then
    echo "setup: installing Debian packages for the tests:$packages" >&2
    sudo=""
    if [ "$(id -u)" != 0 ]; then
      command -v sudo >/dev/null || { echo "setup: installing$packages needs root (or sudo)" >&2; exit 1; }
      sudo="sudo"
    fi
    # shellcheck disable=SC2086  # $packages is a list of words
    $sudo apt-get update -q \
      && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $packages \
      || { echo "setup: could not install$packages with apt-get" >&2; exit 1; }
  fi
  [ -x /usr/bin/chromium ] || { echo "setup: /usr/bin/chromium is still missing" >&2; exit 1; }
  command -v redis-server >/dev/null || { echo "setup: redis-server is still missing" >&2; exit 1; }
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "setup: PostgreSQL's initdb is still missing" >&2; exit 1; }
fi
