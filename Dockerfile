# syntax=docker/dockerfile:1
# ai-roi as a container: `ai-roi serve` behind the image's HEALTHCHECK, as a non-root user.
# Build: docker build -t ai-roi .   Run with PostgreSQL and two replicas: docker compose up
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: exact, hash-checked dependencies from requirements.lock, then the app -----------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/ai-roi
COPY requirements.lock /src/requirements.lock
RUN /opt/ai-roi/bin/pip install --require-hashes --no-deps -r /src/requirements.lock
COPY pyproject.toml README.md LICENSE /src/
COPY bot /src/bot
COPY jobs /src/jobs
RUN /opt/ai-roi/bin/pip install --no-deps /src

# --- runtime: the virtualenv only, no compilers, no sources ---------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/ai-roi/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=3000 \
    DATABASE_URL=sqlite:////data/ai-roi.db
RUN groupadd --system --gid 10001 ai-roi \
 && useradd --system --uid 10001 --gid ai-roi --home-dir /data --create-home --shell /usr/sbin/nologin ai-roi
COPY --from=build /opt/ai-roi /opt/ai-roi
USER ai-roi
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)"]
ENTRYPOINT ["ai-roi"]
CMD ["serve", "--host", "0.0.0.0"]
