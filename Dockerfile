# syntax=docker/dockerfile:1.7
#
# One Dockerfile, two images, both built from the same pinned dependency set:
#
#   docker build -t reelstream .                           # default (last) stage: `runtime`
#   docker build -t reelstream-airflow --target airflow .  # Airflow 3 + the project
#
# `runtime` runs every reelstream process: `reelstream api|worker|replay|retrain|db upgrade|...`
# (ENTRYPOINT is the console script, the compose file passes the sub-command) and also the
# MLflow tracking server (`--entrypoint mlflow`; see docker-compose.yml for why).
#
# Why the Airflow image is a target of this file and not `FROM apache/airflow:3.3.2-python3.11`:
# the DAG imports reelstream's training code, so Airflow must run with the project's own
# dependencies. `make install` resolves the project and its `airflow` extra *together* in one
# uv call, with the croniter override (Faust's mode-streaming caps croniter<6, Airflow 3.3 needs
# >=6.2.2). That exact set is what the tests exercise. The official image instead pins Airflow's
# constraints file, which differs from our pins (pydantic, SQLAlchemy, ...), and its pip cannot
# apply the override - installing the project into it would be an untested third combination.
# We do not miss its entrypoint: compose waits for PostgreSQL with a health check and runs
# `airflow db migrate` once in the `airflow-init` service.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_VERSION=0.13.9

# --------------------------------------------------------------------------------------------
# builder-base: uv and the croniter override; builder / builder-airflow each resolve the full
# dependency set in one uv call into a fresh venv at /opt/venv, then install the project once.
# --------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder-base
ARG UV_VERSION
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1
RUN pip install "uv==${UV_VERSION}" \
 && printf 'croniter>=6.2.2\n' > /opt/overrides.txt
WORKDIR /src
COPY pyproject.toml README.md ./

FROM builder-base AS builder
# Dependencies first (own layer: a code change does not reinstall them)...
RUN python -m venv /opt/venv \
 && uv pip install --python /opt/venv/bin/python --override /opt/overrides.txt \
        -r pyproject.toml
# ...then the project itself (non-editable), without touching the dependencies again.
COPY src ./src
COPY api ./api
COPY producers ./producers
COPY stream_processor ./stream_processor
COPY ui ./ui
RUN uv pip install --python /opt/venv/bin/python --no-deps . \
 && /opt/venv/bin/reelstream --help > /dev/null

FROM builder-base AS builder-airflow
RUN python -m venv /opt/venv \
 && uv pip install --python /opt/venv/bin/python --override /opt/overrides.txt \
        -r pyproject.toml --extra airflow
COPY src ./src
COPY api ./api
COPY producers ./producers
COPY stream_processor ./stream_processor
COPY ui ./ui
RUN uv pip install --python /opt/venv/bin/python --no-deps . \
 && /opt/venv/bin/airflow version > /dev/null

# --------------------------------------------------------------------------------------------
# base: slim runtime OS layer shared by both images (no compilers, no uv, no sources).
# --------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS base
# libgomp1: the OpenMP runtime implicit (ALS) links against.
RUN apt-get update \
 && apt-get install --yes --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/*
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

# --------------------------------------------------------------------------------------------
# airflow: `airflow api-server | scheduler | dag-processor | db migrate`, as uid 50000 (the
# official image's uid, so volumes created by either image stay readable).
# --------------------------------------------------------------------------------------------
FROM base AS airflow
# The DAG's tasks run reelstream code: its state (the nightly snapshots) and data folders are
# the airflow user's, inside AIRFLOW_HOME (compose sets the same values).
ENV AIRFLOW_HOME=/opt/airflow \
    REELSTREAM_STATE_DIR=/opt/airflow/state \
    REELSTREAM_DATA_DIR=/opt/airflow/data
RUN groupadd --system --gid 50000 airflow \
 && useradd --system --uid 50000 --gid airflow --home-dir /opt/airflow --shell /bin/bash airflow \
 && mkdir -p /opt/airflow/dags /opt/airflow/logs /opt/airflow/plugins /opt/airflow/auth \
        /opt/airflow/state /opt/airflow/data \
 && chown -R airflow:airflow /opt/airflow
COPY --from=builder-airflow /opt/venv /opt/venv
WORKDIR /opt/airflow
# The hyper-parameters ship inside the installed package (reelstream/params.yaml, the file dvc
# tracks); REELSTREAM_PARAMS names another file.
USER airflow
EXPOSE 8080
ENTRYPOINT ["airflow"]
CMD ["version"]

# --------------------------------------------------------------------------------------------
# runtime (default target): the reelstream image.
# --------------------------------------------------------------------------------------------
FROM base AS runtime
LABEL org.opencontainers.image.title="reelstream" \
      org.opencontainers.image.description="Event-driven streaming movie recommender" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 reelstream \
 && useradd --system --uid 10001 --gid reelstream --home-dir /var/lib/reelstream \
        --shell /usr/sbin/nologin reelstream \
 && mkdir -p /var/lib/reelstream/state /var/lib/reelstream/data /var/lib/mlflow/artifacts \
 && chown -R reelstream:reelstream /var/lib/reelstream /var/lib/mlflow
COPY --from=builder /opt/venv /opt/venv
# Writable state lives under /var/lib/reelstream (volumes mount there); the code is read-only
# in /opt/venv, owned by root.
ENV REELSTREAM_STATE_DIR=/var/lib/reelstream/state \
    REELSTREAM_DATA_DIR=/var/lib/reelstream/data
WORKDIR /var/lib/reelstream
# The hyper-parameters ship inside the installed package (reelstream/params.yaml, the file dvc
# tracks); REELSTREAM_PARAMS names another file.
USER reelstream
EXPOSE 8000
ENTRYPOINT ["reelstream"]
CMD ["--help"]
