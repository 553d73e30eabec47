# wsprobe in a container: `docker build -t wsprobe .`, then see
# packaging/compose.yaml. Two stages: the toolchain builds the binary the
# tests ran against (--locked), the runtime image holds only that binary,
# CA certificates (wss:// endpoints) and curl (for HEALTHCHECK).

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --locked --release \
    && strip target/release/wsprobe

FROM debian:bookworm-slim
# Unpinned on purpose: pinned Debian versions disappear from the mirror at
# the next point release and break the build; the base image tag pins the suite.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/wsprobe --shell /usr/sbin/nologin wsprobe \
    && install -d -o wsprobe -g wsprobe -m 0700 /var/lib/wsprobe \
    && install -d -m 0755 /etc/wsprobe
COPY --from=build /src/target/release/wsprobe /usr/local/bin/wsprobe
USER 10001:10001
# The config (read-only) and the SQLite store (kept across restarts).
VOLUME ["/etc/wsprobe", "/var/lib/wsprobe"]
EXPOSE 9108
# /healthz answers 503 when the daemon stopped scheduling or a monitor is overdue.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:9108/healthz"]
ENTRYPOINT ["/usr/local/bin/wsprobe"]
CMD ["run", "--config", "/etc/wsprobe/monitors.yaml", "--state", "/var/lib/wsprobe/state.db", "--listen", ":9108"]
