# The production image: the runtime requirements only (requirements.txt; tests, `make run`'s embedded
# extras and tools are in requirements-dev.txt and never enter it), a non-root user, ffmpeg from the
# imageio-ffmpeg wheel (Debian bookworm's 5.1 is too old for the engine). docs/DEPLOY.md.
# The base is pinned by tag (a digest cannot be resolved offline); bump both stages together.

FROM python:3.11.13-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
COPY requirements.txt constraints.txt ./
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir -r requirements.txt -c constraints.txt \
    && /opt/venv/bin/python -c "import imageio_ffmpeg, subprocess; subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), '-version'], check=True, capture_output=True)"

FROM python:3.11.13-slim-bookworm AS runtime
# Folders of the processes' own scratch (TEMP_DIR), metrics and heartbeats: compose mounts a volume or a
# tmpfs of each container's own over them (nothing is shared between containers).
RUN groupadd --system --gid 10001 showreel \
    && useradd --system --uid 10001 --gid showreel --home-dir /app --no-create-home --shell /usr/sbin/nologin showreel \
    && mkdir -p /var/lib/showreel/tmp /var/lib/showreel/metrics /var/lib/showreel/run \
    && chown -R showreel:showreel /var/lib/showreel
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# .dockerignore keeps .venv, data/, .git, tests and docs out.
COPY alembic.ini Procfile ./
COPY api ./api
# The pages' languages: the committed .po catalogues compiled to .mo (never committed; docs/WEB.md).
RUN /opt/venv/bin/pybabel compile -d api/web/translations -D messages \
    && /opt/venv/bin/pybabel compile -d api/web/translations -D js
COPY migrations ./migrations
COPY scheduler ./scheduler
COPY shared ./shared
COPY workers ./workers
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    APP_ENV=production \
    DATA_DIR=/var/lib/showreel \
    TEMP_DIR=/var/lib/showreel/tmp \
    PROMETHEUS_MULTIPROC_DIR=/var/lib/showreel/metrics \
    HEARTBEAT_DIR=/var/lib/showreel/run \
    HOST=0.0.0.0 \
    PORT=8000
USER 10001:10001
EXPOSE 8000
# The web process's liveness; compose gives relay, dispatcher, workers and scheduler their own
# (`python -m workers health <process>`, the heartbeat).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
# The Procfile's web line, word for word (a test keeps them in step).
CMD ["sh", "-c", "exec gunicorn --bind ${HOST:-127.0.0.1}:${PORT:-8000} --workers ${WEB_CONCURRENCY:-2} --threads 4 --timeout 300 --keep-alive ${WEB_KEEPALIVE_SECONDS:-75} 'api.app:wsgi()'"]
