# syntax=docker/dockerfile:1
#
# The tickler server image: a release build of the one `tickler` binary on Debian bookworm-slim,
# running as an unprivileged user with its data in the /data volume. The runtime image holds
# the binary, CA certificates and nothing else: no compiler, no package lists, no curl (the
# health check is `tickler healthcheck`).
#
#   docker build -t tickler .
#   docker run -p 8080:8080 -v tickler-data:/data tickler
#
# Needs BuildKit (the default builder of current Docker) for the cache mounts. Each
# architecture builds natively (amd64 and arm64 runners in .github/workflows/release.yml, which
# merges them into one multi-architecture image with an SBOM and a signature). The development
# machines and CI of this project have no Docker engine, so this file is checked by reading and
# built only by the release workflow.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS builder
# librdkafka's bundled build links the system zlib through pkg-config.
RUN apt-get update \
    && apt-get install -y --no-install-recommends pkg-config zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# rust-toolchain.toml first: the pinned toolchain (and the components it lists) is installed once,
# in its own layer, whatever patch release the base image carries.
COPY rust-toolchain.toml ./
RUN rustup toolchain install "$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)" \
        --profile minimal \
    && cargo --version
COPY . .
# The registry and target/ live in BuildKit cache mounts, so a rebuild after a source change
# recompiles tickler's own crates, not its ~400 dependencies. target/ is not part of the image,
# hence the copy out of it.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked --package tickler-cli --bin tickler \
    && install -D -m 0755 target/release/tickler /out/tickler

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# ca-certificates: outgoing TLS (webhooks, SMTP, OTLP). Nothing else: the health check is the
# binary's own.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 tickler \
    && useradd --system --uid 10001 --gid tickler --home-dir /data --shell /usr/sbin/nologin tickler \
    && install -d -o tickler -g tickler -m 0750 /data
COPY --from=builder /out/tickler /usr/local/bin/tickler

LABEL org.opencontainers.image.title="tickler" \
      org.opencontainers.image.description="self-hosted task manager" \
      org.opencontainers.image.source="https://github.com/tickler/tickler" \
      org.opencontainers.image.licenses="AGPL-3.0-or-later"

# Numeric ids, so Kubernetes' runAsNonRoot can verify them without reading /etc/passwd.
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
# Settings as environment, so every command of the image (serve, migrate, healthcheck, backup)
# sees the same listen address and data directory.
ENV TICKLER_LISTEN=0.0.0.0:8080 \
    TICKLER_DATA_DIR=/data
EXPOSE 8080
# `tickler healthcheck` asks http://127.0.0.1:8080/health (the loopback side of TICKLER_LISTEN).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["tickler", "healthcheck"]
ENTRYPOINT ["tickler"]
CMD ["serve"]
