"""``videoclf predict MANIFEST --out results.jsonl|csv [--split S] [--timeline M] [--workers N]``"""
from __future__ import annotations

import os
import sys
import time

from app.bundle import BundleError, default_bundle_dir
from app.cli.common import add_device_options, fail, load_classifier, positive_int, task_args
from app.features.backbones import BackboneUnavailableError
from app.tasks import OptionError, TaskOptions


def add_parser(sub) -> None:
    p = sub.add_parser(
        "predict", help="batch prediction: a manifest of videos (and segments) in, a results file out",
        description="Classify every row of MANIFEST (CSV with a 'path' column and optional 'start', 'end' in "
                    "seconds, or JSON Lines with path/content and start/end or timeSegmentStart/End) and "
                    "append one record per row to --out (.jsonl: the full result document; .csv: label, "
                    "confidence, uncertain and scores). Rows are checked first: a bad row is reported and "
                    "recorded as an error, never fatal. Rerun with the same --out to resume: rows already "
                    "there are skipped. Exit status 1 if any row failed.")
    p.add_argument("manifest", metavar="MANIFEST")
    p.add_argument("--out", required=True, metavar="FILE", help="results file, .jsonl or .csv (appended to)")
    p.add_argument("--model", default=None, metavar="DIR", help=f"model bundle (default: {default_bundle_dir()})")
    p.add_argument("--split", default=None, help="only rows whose 'split' column is this (e.g. test)")
    task_args(p, "each video")
    p.add_argument("--workers", type=positive_int, default=None,
                   help="videos in flight at once (default: the number of CPU cores, at most 8)")
    p.add_argument("--broker", default=None, metavar="URL",
                   help="fan the rows out over Celery workers on this broker (redis://...) instead of running "
                        "them here; the workers must see the files at the same paths (see docs/scaling.md)")
    p.add_argument("--db", default=None, metavar="URL|PATH",
                   help="with --broker: the workers' job store (default: $VIDEOCLF_DB, as the workers)")
    p.add_argument("--retry-failed", action="store_true", help="on resume, run rows that failed before again")
    p.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    add_device_options(p)
    p.set_defaults(run=run)


class _Progress:
    """One line on stderr: done/total, failed, videos per second and time left."""

    EVERY_S = 5.0  # when stderr is a log, not a terminal: a line this often (and the last)

    def __init__(self, total: int, enabled: bool):
        self.total, self.enabled = total, enabled and total > 0
        self.tty = sys.stderr.isatty()
        self.done = self.failed = 0
        self.t0 = self.shown = time.monotonic()

    def step(self, failed: bool) -> None:
        self.done += 1
        self.failed += failed
        if not self.enabled:
            return
        now = time.monotonic()
        last = self.done == self.total
        if not self.tty and not last and now - self.shown < self.EVERY_S:
            return
        self.shown = now
        rate = self.done / max(1e-9, now - self.t0)
        left = (self.total - self.done) / rate if rate else 0
        start, end = ("\r", "\n" if last else "") if self.tty else ("", "\n")
        sys.stderr.write(f"{start}predict: {self.done}/{self.total} rows, {self.failed} failed, "
                         f"{rate:.2f} videos/s, {left:.0f} s left   {end}")
        sys.stderr.flush()


def run(args) -> int:
    from app.batch import BatchError, ResultsFile, read_requests

    try:
        options = TaskOptions(tta=args.tta, top_k=args.top_k, timeline=args.timeline, interval=args.interval)
        requests, bad = read_requests(args.manifest, split=args.split)
        out = ResultsFile(args.out, retry_failed=args.retry_failed)
    except (OptionError, BatchError, OSError) as exc:
        return fail(exc)
    with out:
        bad_new = [b for b in bad if b.key not in out.done]
        todo, seen = [], set(out.done)
        for req in requests:  # a row repeated in the manifest is predicted once
            if req.key not in seen:
                seen.add(req.key)
                todo.append(req)
        skipped = len(requests) + len(bad) - len(todo) - len(bad_new)
        for b in bad_new:
            fail(f"[{b.code}] {b.message}", 1)
            out.write(b.record())
        print(f"videoclf predict: {len(requests) + len(bad)} rows in {args.manifest}: {len(bad)} bad, "
              f"{skipped} already in {args.out} or repeated, {len(todo)} to run", file=sys.stderr)
        if todo and args.broker:
            code = _run_on_queue(args, todo, options, out)
            if code:
                return code
        elif todo:
            try:
                clf = load_classifier(args)
            except (BundleError, BackboneUnavailableError, ValueError) as exc:
                return fail(exc)
            _run(args, clf, todo, options, out)
        failed = sum(out.status.get(r.key) == "failed" for r in [*requests, *bad])
        print(f"videoclf predict: {len(requests) + len(bad) - failed} of {len(requests) + len(bad)} rows done, "
              f"{failed} failed; results in {args.out}", file=sys.stderr)
    return 1 if failed else 0


def _run_on_queue(args, todo, options, out) -> int:
    """Predict ``todo`` on Celery workers; 2 when the broker or the job store cannot be used."""
    from app.batch import predict_via_queue
    from app.jobs.store import JobStore
    from app.jobs.worker import make_celery, settings_from_env

    try:
        cfg = settings_from_env()
        store = JobStore(args.db or cfg["database"])
        celery = make_celery(args.broker, visibility_s=cfg["visibility_s"])
    except Exception as exc:  # a bad URL, a database that refuses
        return fail(f"cannot use the job queue: {exc}")
    progress = _Progress(len(todo), not args.no_progress)
    try:
        for req, record in predict_via_queue(todo, options, celery=celery, store=store):
            out.write(record)
            if record["status"] != "done":
                fail(f"[{record['error']['code']}] row {req.row}: {record['error']['message']}", 1)
            progress.step(record["status"] != "done")
    except Exception as exc:  # the broker went away: what finished is written; rerun to resume
        return fail(f"the job queue failed ({type(exc).__name__}: {exc}); rerun the same command to resume")
    finally:
        celery.close()
        store.close()
    return 0


def _run(args, clf, todo, options, out) -> None:
    """Predict ``todo`` into ``out``, a progress line and each failure on stderr."""
    from app.batch import predict

    if not clf.bundle.trained:
        print(f"videoclf: warning: {clf.bundle.path} is an untrained wiring bundle; its answers mean nothing",
              file=sys.stderr)
    progress = _Progress(len(todo), not args.no_progress)
    for req, record in predict(clf, todo, options, workers=args.workers or min(8, os.cpu_count() or 1)):
        out.write(record)
        if record["status"] != "done":
            if progress.enabled and progress.tty and progress.done:
                sys.stderr.write("\n")
            message = record["error"]["message"]
            where = f"row {req.row}" if req.path in message else f"row {req.row} {req.path}"
            fail(f"[{record['error']['code']}] {where}: {message}", 1)
        progress.step(record["status"] != "done")
