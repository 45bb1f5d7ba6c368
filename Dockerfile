# Gatehouse: multi-stage build, runs as a non-root user. Mount config at /etc/gatehouse and
# state (CA keys, embedded database) at /var/lib/gatehouse.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
RUN useradd --system --uid 10001 --home /var/lib/gatehouse gatehouse \
 && mkdir -p /var/lib/gatehouse /etc/gatehouse && chown gatehouse /var/lib/gatehouse
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config/container.yaml /etc/gatehouse/gatehouse.yaml
USER gatehouse
# Relative paths in the config (data_dir, ca_dir) resolve here.
WORKDIR /var/lib/gatehouse
VOLUME ["/var/lib/gatehouse"]
EXPOSE 5432 3080
ENTRYPOINT ["node", "/app/dist/cli/gatehouse.js"]
CMD ["start", "--config", "/etc/gatehouse/gatehouse.yaml"]
