#!/usr/bin/env bash
# Run the benchmark suite (bench/README.md): set up .venv if there is none, install the bench-only
# requirements (requirements-bench.txt) when they are missing, then run `python -m bench`.
#   scripts/bench.sh                 the full run (about 4 minutes on a quiet 2-core CPU)
#   scripts/bench.sh --quick         1 clip, fewer repeats
#   scripts/bench.sh --help          all options
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  scripts/setup.sh
fi
if ! .venv/bin/python -m bench.deps requirements-bench.txt 2>/dev/null; then
  .venv/bin/python -m pip install --disable-pip-version-check -q -r requirements-bench.txt
fi
exec .venv/bin/python -m bench "$@"
