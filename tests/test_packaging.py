"""What the Dockerfile promises, checked without Docker (no container registry is reachable here):
the image installs the package (so it has the ``videoclf`` command), runs as a non-root user,
has a health check on /readyz, and copies every folder the service reads."""
from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import REPO


def instructions() -> list[tuple[str, str]]:
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    return [(m.group(1).upper(), m.group(2).strip()) for m in re.finditer(r"^\s*([A-Za-z]+)\s+(.*)$", text, re.M)
            if not m.group(0).lstrip().startswith("#")]


def test_the_image_installs_the_videoclf_command_and_runs_as_non_root():
    steps = instructions()
    runs = [arg for op, arg in steps if op == "RUN"]
    assert any("pip install --no-deps ." in r and "videoclf --help" in r for r in runs)
    users = [arg for op, arg in steps if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    cmd = [arg for op, arg in steps if op == "CMD"][-1]
    assert cmd.startswith('["gunicorn"')  # exec form: gunicorn is PID 1 and gets SIGTERM
    assert any(op == "HEALTHCHECK" and "/readyz" in arg for op, arg in steps)


def test_the_image_copies_what_the_service_reads():
    copied = " ".join(arg for op, arg in instructions() if op == "COPY")
    for needed in ("requirements.txt", "app", "templates", "static", "models", "wsgi.py", "gunicorn.conf.py",
                   "pyproject.toml"):
        assert re.search(rf"(^|\s){re.escape(needed)}(\s|$)", copied), needed


def test_the_package_builds_a_wheel_with_the_entry_point(tmp_path):
    """What ``pip install --no-deps .`` in the image does, here: a wheel with app/ and the script."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(REPO)], check=True, timeout=300)
    wheel = next(tmp_path.glob("videoclf-*.whl"))
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "app/cli/__init__.py" in names and "app/web/__init__.py" in names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "videoclf = app.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_compose_runs_web_and_workers_on_one_broker_store_and_upload_path():
    """compose.yaml: the web tier and the workers use the Celery backend with the same broker, job
    store and upload path (on a volume both mount), every variable is one the service knows, and
    the worker runs ``videoclf worker``."""
    import yaml

    from app.web.config import SETTINGS

    doc = yaml.safe_load((REPO / "compose.yaml").read_text())
    services = doc["services"]
    assert {"web", "worker", "redis", "postgres"} <= set(services)
    web, worker = services["web"], services["worker"]
    assert web["environment"] == worker["environment"]
    env = web["environment"]
    known = {name for name, _kind, _default in SETTINGS.values()}
    assert set(env) <= known, set(env) - known
    assert env["VIDEOCLF_JOB_BACKEND"] == "celery"
    assert env["VIDEOCLF_BROKER"].startswith("redis://redis:") and env["VIDEOCLF_DB"].startswith("postgresql://")
    assert env["VIDEOCLF_DB"].split("@", 1)[1].startswith("postgres:")
    mounts = {v.split(":", 1)[1] for v in web["volumes"]} & {v.split(":", 1)[1] for v in worker["volumes"]}
    assert any(env["VIDEOCLF_UPLOAD_DIR"].startswith(m) for m in mounts)  # both see the uploads
    assert worker["command"][:2] == ["videoclf", "worker"]
    from app.cli import get_parser

    get_parser().parse_args(worker["command"][1:])  # a command line videoclf accepts
    assert set(doc["volumes"]) >= {v.split(":", 1)[0] for v in web["volumes"]}
