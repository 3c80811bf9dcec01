# Conflict Events API: installs the package and serves as a non-root user. Migrations are a
# one-shot step of their own (`conflict-events db upgrade`, see the README), never run on start.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8000

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /srv --no-create-home app

WORKDIR /srv
COPY pyproject.toml setup.py README.md requirements.lock ./
COPY app ./app
COPY migrations ./migrations
RUN pip install -c requirements.lock . && rm -rf app migrations && mkdir -p /srv/data && chown 10001:10001 /srv/data

USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'))"]

# `serve` applies uvicorn's limits from the environment: HTTP_IMPLEMENTATION, LIMIT_CONCURRENCY,
# TIMEOUT_KEEP_ALIVE, H11_MAX_INCOMPLETE_EVENT_SIZE (and the app's BODY_TIMEOUT, MAX_BODY_BYTES);
# see the README's "Security and limits". Put a proxy such as deploy/nginx.conf in front.
# WORKERS sets the worker processes (with PROMETHEUS_MULTIPROC_DIR for /metrics; see "Running at scale").
CMD ["sh", "-c", "exec conflict-events serve --host 0.0.0.0 --port \"$PORT\""]
