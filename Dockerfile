# syntax=docker/dockerfile:1
#
# One multi-stage build, one target per binary, each on debian:bookworm-slim as a
# non-root user with /data as its volume (the file store's directory):
#
#   docker build --target mcstat-api      -t mcstat-api .
#   docker build --target mcstat-telegram -t mcstat-telegram .
#   docker build --target mcstat-discord  -t mcstat-discord .
#   docker build --target mcstat          -t mcstat .        # the CLI
#
# compose.yaml builds and runs them with Redis. Every setting is an MCSTAT_*
# environment variable (see .env.example).

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

# --- build: every binary at once (one dependency build shared by all) -------------------
FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked \
        -p mcstat-api -p mcstat-telegram -p mcstat-discord -p mcstat-cli \
 && mkdir -p /out \
 && cp target/release/mcstat-api target/release/mcstat-telegram \
       target/release/mcstat-discord target/release/mcstat /out/

# --- runtime base: slim Debian, CA certificates, an unprivileged user, /data ------------
FROM debian:${DEBIAN_RELEASE}-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 mcstat \
 && useradd --system --uid 10001 --gid mcstat --home-dir /data --shell /usr/sbin/nologin mcstat \
 && mkdir -p /data \
 && chown mcstat:mcstat /data
WORKDIR /data
# The file store (the default store) lives in the volume; logs are JSON lines.
ENV MCSTAT_STORE_PATH=/data/mcstat.redb \
    MCSTAT_LOG_FORMAT=json
VOLUME ["/data"]
USER mcstat:mcstat
STOPSIGNAL SIGTERM

# --- the HTTP status API ----------------------------------------------------------------
FROM runtime AS mcstat-api
COPY --from=build /out/mcstat-api /usr/local/bin/mcstat-api
ENV MCSTAT_HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["mcstat-api"]

# --- the Telegram bot (webhook mode listens on MCSTAT_HTTP_ADDR) --------------------------
FROM runtime AS mcstat-telegram
COPY --from=build /out/mcstat-telegram /usr/local/bin/mcstat-telegram
ENV MCSTAT_HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["mcstat-telegram"]

# --- the Discord bot (HTTP interactions mode listens on MCSTAT_HTTP_ADDR) -----------------
FROM runtime AS mcstat-discord
COPY --from=build /out/mcstat-discord /usr/local/bin/mcstat-discord
ENV MCSTAT_HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["mcstat-discord"]

# --- the CLI: docker run --rm mcstat status play.example.net ------------------------------
FROM runtime AS mcstat
COPY --from=build /out/mcstat /usr/local/bin/mcstat
ENTRYPOINT ["mcstat"]
