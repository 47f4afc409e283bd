"""Run the whole hostile corpus (tests/hostile.py) against the real service and print a table.

    .venv/bin/python scripts/hostile_corpus.py                  # starts gunicorn on a free port
    .venv/bin/python scripts/hostile_corpus.py --url http://127.0.0.1:8000 --token T

The corpus is generated into a temporary folder from a real clip (default: the first test clip
of content4, whose label is known), then every case is sent to POST /classify one after the
other. With a server of its own, the script also checks that the upload folder is empty and the
server's temporary folder holds nothing new afterwards, that the worker process is the one it
started with, and that the clip itself is still classified right. Exit status 1 if anything was
not as expected.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests import hostile  # noqa: E402


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    data = Path(os.environ.get("CONTENT4_DIR", REPO.parent / "shared" / "data" / "content4"))
    p.add_argument("--content4", type=Path, default=data, help="content4 folder (default: %(default)s)")
    p.add_argument("--clip", type=Path, default=None, help="base clip (default: content4's first test clip)")
    p.add_argument("--label", default=None, help="the base clip's label (default: from the manifest)")
    p.add_argument("--url", default=None, help="an already running server (default: start gunicorn)")
    p.add_argument("--token", default=None, help="API token of that server")
    p.add_argument("--only", nargs="*", default=None, help="run only these cases")
    p.add_argument("--reduced", action="store_true", help="only the reduced set the test suite runs")
    return p


def _base_clip(args) -> tuple[Path, str | None]:
    if args.clip is not None:
        return args.clip, args.label
    with open(args.content4 / "manifest.csv", newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["split"] == "test")
    return args.content4 / row["path"], args.label or row["label"]


def main(args) -> int:
    clip, label = _base_clip(args)
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hostile-")))
        t0 = time.perf_counter()
        cases = hostile.build(work / "corpus", clip, reduced=args.reduced, only=set(args.only or ()) or None)
        print(f"{len(cases)} cases generated from {clip.name} ({label}) in {time.perf_counter() - t0:.1f} s")
        server = None
        url = args.url
        if url is None:
            from tests.live_server import gunicorn

            (work / "tmp").mkdir()
            env = {"TMPDIR": str(work / "tmp")}
            server = stack.enter_context(gunicorn(work / "data", env))
            url = server.url
            workers = hostile.worker_pids(server.proc.pid)
            tmp_before = set((work / "tmp").iterdir())  # made by the worker at start, not by uploads
        headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
        outcomes = [hostile.run_case(url, case, label=label, headers=headers) for case in cases]
        print(hostile.table(outcomes))
        failures = [o for o in outcomes if not o.ok]
        if server is not None:
            checks = {
                "upload folder empty": not any(server.upload_dir.iterdir()),
                "nothing new in the server's TMPDIR": set((work / "tmp").iterdir()) == tmp_before,
                "same worker process": hostile.worker_pids(server.proc.pid) == workers,
                "no traceback or 500 in the server log": ("Traceback" not in server.log_tail(10**7)
                                                           and '" 500 ' not in server.log_tail(10**7)),
            }
            import requests

            r = requests.post(f"{url}/classify", files={"video": (clip.name, clip.read_bytes())}, timeout=180)
            checks[f"the clip itself still classified as {label}"] = r.status_code == 200 and (
                label is None or r.json()["label"] == label)
            for what, ok in checks.items():
                print(f"{'ok  ' if ok else 'FAIL'} {what}")
            failures += [what for what, ok in checks.items() if not ok]
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(get_args_parser().parse_args()))
