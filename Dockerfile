# polymall container image.
#
#   docker build -t polymall .
#   docker run -p 8080:8080 -v polymall-data:/var/lib/polymall \
#       -v "$PWD/polymall.toml:/etc/polymall/polymall.toml:ro" \
#       polymall --config /etc/polymall/polymall.toml serve
#
# Without --config the built-in defaults plus POLYMALL__* variables apply: the
# SQLite file is polymall.db in the working directory, the volume below. The ENV
# below makes the server listen on all interfaces of the container (it overrides
# [server] listen of a mounted file too). To use PostgreSQL set [database] url in
# the mounted file or pass -e POLYMALL__DATABASE__URL=postgres://user@host/db

# ---------------------------------------------------------------------------
FROM rust:1-bookworm AS builder

# libpq-dev: diesel's postgres backend links libpq. The C compiler for the
# bundled SQLite comes with the image.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /build

# Dependency layer: build against dummy sources so this layer stays cached
# until Cargo.toml / Cargo.lock change.
COPY Cargo.toml Cargo.lock ./
# Build settings for dependencies (SQLite's threading mode).
COPY .cargo ./.cargo
RUN mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked --bin polymall \
    && rm -rf src

# Real sources. Migrations (embed_migrations!), data/ and the console's assets/
# (include_str!) and templates/ (askama) are compiled into the binary, so they
# must be present here.
COPY diesel.toml ./
COPY migrations ./migrations
COPY data ./data
COPY assets ./assets
COPY templates ./templates
COPY src ./src
# Make sure cargo rebuilds the crate itself instead of reusing the dummy.
RUN touch src/lib.rs src/main.rs \
    && cargo build --release --locked --bin polymall \
    && install -m 0755 target/release/polymall /usr/local/bin/polymall

# ---------------------------------------------------------------------------
FROM debian:bookworm-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 polymall \
    && useradd --system --uid 10001 --gid polymall \
        --home-dir /var/lib/polymall --shell /usr/sbin/nologin polymall \
    && install -d -m 0750 -o polymall -g polymall /var/lib/polymall

COPY --from=builder /usr/local/bin/polymall /usr/local/bin/polymall

ENV POLYMALL__SERVER__LISTEN=0.0.0.0:8080 \
    RUST_LOG=info

USER polymall
WORKDIR /var/lib/polymall
VOLUME /var/lib/polymall
EXPOSE 8080

# No HEALTHCHECK: the slim image has no curl/wget. Point the orchestrator's
# HTTP probes at GET /healthz (liveness) and GET /readyz (readiness).

# polymall itself handles SIGTERM (graceful shutdown), so no init wrapper.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/polymall"]
CMD ["serve"]
