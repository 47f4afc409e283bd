# The video classification service: gunicorn + Flask on the shipped default model (CPU).
#   docker build -t videoclf .
#   docker run --rm -p 127.0.0.1:8000:8000 -v videoclf-data:/app/var videoclf
# Never built on the project's machines: they reach PyPI, Debian and npm only, not a container
# registry (no base image); tests/test_packaging.py checks what can be checked without one.
# Inside the container the server listens on all interfaces (the container's own network); publish
# it on the host's 127.0.0.1 as above unless it should be reachable from elsewhere.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIDEOCLF_BIND=0.0.0.0:8000 \
    VIDEOCLF_CACHE=/app/cache \
    VIDEOCLF_DATA_DIR=/app/var

# OpenCV (headless) and ONNX Runtime need these shared libraries; PyAV wheels carry their FFmpeg.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libglib2.0-0 libgomp1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first: this layer is rebuilt only when requirements.txt changes. The CPU build of
# torch (the default PyPI wheel pulls in gigabytes of CUDA libraries this image never uses).
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
COPY requirements.txt .
RUN pip install --extra-index-url "$TORCH_INDEX" -r requirements.txt

COPY app ./app
COPY templates ./templates
COPY static ./static
COPY models ./models
COPY wsgi.py gunicorn.conf.py pyproject.toml README.md ./
# The package itself (its dependencies are in already): gives the image the `videoclf` command,
#   docker run --rm -v "$PWD:/data" videoclf videoclf classify /data/clip.mp4
RUN pip install --no-deps . && videoclf --help > /dev/null

RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin videoclf \
    && mkdir -p /app/var /app/cache \
    && chown videoclf:videoclf /app/var /app/cache
USER videoclf

# Load the default bundle once at build time: it checks the bundle and exports the ONNX engine
# into the cache, so a container is ready seconds after it starts.
RUN python -c "from app.classifier import SingleVideoClassifier; SingleVideoClassifier(device='cpu')"

VOLUME ["/app/var"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)" || exit 1

# Exec form: gunicorn is PID 1 itself (as after `exec gunicorn`), so it gets SIGTERM and stops gracefully.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
