"""gunicorn settings for the video classification service (``gunicorn -c gunicorn.conf.py wsgi:app``).

Sized for video work on a small CPU machine: one worker process (one model in memory; the
inference pool inside it uses the cores) with threads for requests, so health checks and
uploads are answered while videos are classified. Every value can be set from the environment.
"""
import os
import secrets


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


bind = os.environ.get("VIDEOCLF_BIND", "127.0.0.1:8000")  # localhost unless told otherwise
workers = _int("VIDEOCLF_WORKERS", 1)  # each worker holds its own model (hundreds of MB)
worker_class = "gthread"
# More request threads than videos the pool holds (running + queued), so that even with every
# slot taken by a waiting /classify there are threads left for /healthz, /readyz and the pages.
threads = _int("VIDEOCLF_THREADS", _int("VIDEOCLF_INFERENCE_WORKERS", 2) + _int("VIDEOCLF_QUEUE_SIZE", 6) + 4)
# The worker heartbeat runs on its own thread in gthread, so long classifications do not trip it;
# the limit must however cover loading the model at boot when LOAD_MODEL=eager.
timeout = _int("VIDEOCLF_WORKER_TIMEOUT", 120)
graceful_timeout = _int("VIDEOCLF_GRACEFUL_TIMEOUT", 60)  # let running classifications finish
keepalive = 5
preload_app = False  # ONNX Runtime sessions and threads do not survive fork: load in each worker
limit_request_line = 4094
limit_request_fields = 50
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("VIDEOCLF_LOG_LEVEL", "info")
# One session/CSRF secret for all workers (each would draw its own otherwise); set
# VIDEOCLF_SECRET_KEY to keep sessions valid across restarts.
os.environ.setdefault("VIDEOCLF_SECRET_KEY", secrets.token_hex(32))
# gunicorn >= 24 opens a management socket under ~/.gunicorn by default: not needed here, and one
# fixed path would be shared by every instance on the machine.
control_socket_disable = True
