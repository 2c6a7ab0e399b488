# Multi-stage build: wheels are built in the first stage, the runtime image has no compilers and
# runs as a non-root user. No model or data is downloaded at build or run time beyond PyPI packages.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY skinsage ./skinsage
COPY graph ./graph
COPY ingest ./ingest
COPY assistant ./assistant
COPY vision ./vision
COPY api ./api
COPY opstore ./opstore
COPY retrieval ./retrieval
COPY commerce ./commerce
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 skinsage
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
WORKDIR /app
COPY knowledge ./knowledge
COPY prompts ./prompts
ENV SKINSAGE_KNOWLEDGE_DIR=/app/knowledge \
    SKINSAGE_DATA_DIR=/var/lib/skinsage \
    PYTHONUNBUFFERED=1
RUN mkdir -p /var/lib/skinsage && chown skinsage /var/lib/skinsage
USER skinsage
EXPOSE 8000
CMD ["skinsage", "serve"]
