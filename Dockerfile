# The Redline load generator: `python -m loadtests` as a Locust master or worker (Fargate
# tasks of terraform/modules/loadgen; `make loadgen-image`). Locked dependencies
# (requirements/loadgen.txt), a non-root user, no secrets: credentials come from the task role.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements/loadgen.txt requirements/loadgen.txt
RUN pip install --no-deps -r requirements/loadgen.txt

COPY pyproject.toml README.md ./
COPY pipeline pipeline
COPY loadtests loadtests
COPY monitors monitors
COPY reports reports
COPY terraform/environments terraform/environments
RUN pip install --no-deps --no-build-isolation . \
    && useradd --create-home --uid 10001 loadgen \
    && mkdir -p /app/.redline /app/results \
    && chown -R loadgen /app/.redline /app/results /app/terraform

USER loadgen
ENTRYPOINT ["python", "-m", "loadtests.fargate_task"]
CMD ["worker"]
