# syntax=docker/dockerfile:1
# One image for every production role of coopflow:
#   docker run IMAGE               the worker (default)
#   docker run IMAGE api           the HTTP API on 0.0.0.0:8000
#   docker run IMAGE migrate       apply the database migrations, then exit
# Configuration is environment variables only (COOPFLOW_*, see README.md and deploy/).
# No embedded PostgreSQL nor Temporal binaries: the `local` and `dev` extras stay out.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, from the production lock alone (requirements/main.txt, `make lock`):
# exact versions, checked against their hashes, nothing resolved at build time. This layer is
# rebuilt only when the lock changes.
COPY requirements/build.txt requirements/main.txt requirements/
RUN pip install --require-hashes --no-deps -r requirements/build.txt -r requirements/main.txt
# Then coopflow itself (the packages listed in pyproject.toml; .dockerignore keeps the rest out),
# without a dependency, built by the locked setuptools.
COPY . .
RUN pip install --no-deps --no-build-isolation . \
    && python -m compileall -q /opt/venv/lib

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="coopflow" \
      org.opencontainers.image.description="Funding lifecycles of territorial cooperations, on Temporal"
RUN groupadd --system --gid 10001 coopflow \
    && useradd --system --uid 10001 --gid coopflow --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin coopflow
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    COOPFLOW_API_HOST=0.0.0.0 \
    COOPFLOW_API_PORT=8000 \
    COOPFLOW_LOG_FORMAT=json
# An empty working directory owned by root: no `.env` is read, the root filesystem can be
# mounted read-only (nothing is written at run time but to sockets).
WORKDIR /app
USER 10001:10001
EXPOSE 8000 8081 9464
# The worker stops on SIGTERM (it finishes or hands back what it runs): give it the time.
STOPSIGNAL SIGTERM
ENTRYPOINT ["coopflow"]
CMD ["worker"]
