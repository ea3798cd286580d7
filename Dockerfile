# syntax=docker/dockerfile:1
# smslink redirect worker: `smslink serve` as a non-root user on python:3.11-slim.
#
#   docker build -t smslink .
#   docker run --rm -p 8080:8080 -p 9090:9090 \
#     -v /srv/smslink:/var/lib/smslink:ro -v "$PWD/clicks:/var/log/smslink" smslink
#
# The image holds no config and no snapshot: the snapshot comes from a mounted
# publish folder (`smslink publish --to`) or from object storage through the
# `smslink mirror` sidecar (deploy/k8s/). docs/deploy.md has the whole story.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY engine ./engine
# gcc builds the compiled click path (engine/worker/_fast.c), the token index
# reader (engine/snapshot/_index.c) and the report's log reader
# (engine/analytics/_scan.c); without it the install still works but every
# click runs the slower pure-Python path and reports parse the logs with
# DuckDB's slower JSON reader.
# boto3 is for `smslink mirror` / `--to s3://` (object storage).
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/* \
 && python -m venv /opt/smslink \
 && /opt/smslink/bin/pip install --upgrade pip \
 && /opt/smslink/bin/pip install . 'boto3>=1.34' \
 && /opt/smslink/bin/python -c "import engine.worker._fast, engine.snapshot._index, engine.analytics._scan"  # fail the build, not the first click

FROM python:3.11-slim
RUN groupadd --system --gid 10001 smslink \
 && useradd --system --uid 10001 --gid smslink --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin smslink \
 && mkdir -p /var/lib/smslink /var/log/smslink \
 && chown smslink:smslink /var/lib/smslink /var/log/smslink
COPY --from=build /opt/smslink /opt/smslink
ENV PATH=/opt/smslink/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /var/lib/smslink
# 8080: redirects (public); 9090: /healthz, /readyz, /metrics (keep it private)
EXPOSE 8080 9090
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=2s --start-period=10s \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:9090/healthz', timeout=2).status != 200)"]
ENTRYPOINT ["smslink"]
CMD ["serve", "--snapshot", "/var/lib/smslink", "--logs", "/var/log/smslink", \
     "--host", "0.0.0.0", "--port", "8080", "--admin-host", "0.0.0.0", "--admin-port", "9090"]
