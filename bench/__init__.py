"""Benchmark suite: ours vs the existing system's approach vs a VideoMAE pipeline vs physical limits.

Run ``scripts/bench.sh`` (or ``.venv/bin/python -m bench --help``); see bench/README.md.
Nothing in here is imported by the service: bench-only dependencies live in requirements-bench.txt.
"""
