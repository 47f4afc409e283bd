"""``videoclf worker [--concurrency N] [--pool solo|prefork|threads]``: a Celery worker for the web tier's jobs."""
from __future__ import annotations

import os

from app.cli.common import fail


def add_parser(sub) -> None:
    p = sub.add_parser(
        "worker", help="run a Celery worker for the service's jobs (VIDEOCLF_JOB_BACKEND=celery)",
        description="Take jobs the web tier queued on the broker (VIDEOCLF_BROKER, default "
                    "redis://localhost:6379/0), classify them with the model (VIDEOCLF_MODEL) and record "
                    "the results in the job store (VIDEOCLF_DB); uploads are read from the path the web "
                    "tier stored them under (VIDEOCLF_UPLOAD_DIR, shared). Same as "
                    "'celery -A app.jobs.worker worker'. See docs/scaling.md.")
    p.add_argument("--concurrency", "-c", type=int, default=1,
                   help="jobs at once in this worker (each process of the prefork pool loads the model; default 1)")
    p.add_argument("--pool", choices=["prefork", "solo", "threads"], default="prefork",
                   help="Celery's execution pool (default prefork: a job's process is replaced if it dies)")
    p.add_argument("--broker", default=None, help="broker URL (default: $VIDEOCLF_BROKER)")
    p.add_argument("--hostname", default=None, help="worker name (default: videoclf@<host>:<pid>)")
    p.add_argument("--loglevel", default="INFO")
    p.set_defaults(run=run)


def run(args) -> int:
    if args.concurrency < 1:
        return fail("--concurrency must be 1 or more")
    if args.broker:
        os.environ["VIDEOCLF_BROKER"] = args.broker  # the worker's Runner reads the same settings
    try:
        from app.jobs.worker import settings_from_env, make_celery

        cfg = settings_from_env()
    except RuntimeError as exc:
        return fail(exc)
    celery = make_celery(cfg["broker"], visibility_s=cfg["visibility_s"])
    hostname = args.hostname or f"videoclf@{os.uname().nodename}:{os.getpid()}"
    celery.worker_main(["worker", "--pool", args.pool, "--concurrency", str(args.concurrency), "--hostname",
                        hostname, "--loglevel", args.loglevel, "--without-gossip", "--without-mingle"])
    return 0
