# aduan: one image for the web processes and the workers (see docs/operations.md).
# Its install step is deploy/install.sh, the same script the README's deployment uses and
# tests/test_ops_packaging.py runs into a fresh virtual environment: what is tested is what ships.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --system --uid 10001 --home-dir /var/lib/aduan --create-home aduan

COPY . /src
RUN sh /src/deploy/install.sh /opt/aduan /src

ENV PATH=/opt/aduan/bin:$PATH \
    ADUAN_INSTANCE_PATH=/var/lib/aduan \
    ADUAN_LOG_FORMAT=json

USER aduan
WORKDIR /var/lib/aduan
EXPOSE 5000
# SIGTERM: the web process stops accepting, answers what it holds, exits; the worker finishes its job.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/health', timeout=2)"]
CMD ["aduan", "serve", "--host", "0.0.0.0", "--port", "5000", "--threads", "8"]
