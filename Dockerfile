# Gateway image: `gateway serve` (API, console, worker, pollers). Build: docker build -t reseau-emploi-gateway .
FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY adapters ./adapters
RUN pip wheel --wheel-dir /wheels '.[postgres,amqp]'

FROM python:3.12-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    GATEWAY_HOME=/srv/gateway GATEWAY_DATA_DIR=/var/lib/gateway GATEWAY_HOST=0.0.0.0 GATEWAY_PORT=8080
RUN useradd --system --uid 10001 --home-dir /srv/gateway --shell /usr/sbin/nologin gateway \
    && mkdir -p /srv/gateway /var/lib/gateway && chown gateway:gateway /var/lib/gateway
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
WORKDIR /srv/gateway
COPY --chown=root:root mappings ./mappings
COPY --chown=root:root conventions ./conventions
COPY --chown=root:root config ./config
USER gateway
EXPOSE 8080
VOLUME ["/var/lib/gateway"]
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"
CMD ["gateway", "serve"]
