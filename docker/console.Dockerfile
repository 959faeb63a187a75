# The console's image (apps/console): its static page and the small Fastify server that serves it.
#
#   docker build -f docker/console.Dockerfile -t jwt-ms/console:local .
#
# The same base, stages and hardening as the services' docker/Dockerfile; its first stage is that
# file's, instruction for instruction, so that both share the cached `npm ci` layer.
ARG NODE_IMAGE=node:20.19.5-bookworm-slim

# 1. Build: the whole workspace installed from the lockfile, the page and the server built by Vite,
#    with a generated package.json of the server's production dependencies and their lockfile
#    (cut from the workspace's, apps/console/vite.config.mts).
FROM ${NODE_IMAGE} AS build
LABEL jwt-ms.stage=build
WORKDIR /workspace
ENV CI=true NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npx nx build console --skip-nx-cache

# 2. Production dependencies only (fastify, @fastify/static, @fastify/helmet, zod), from the lockfile.
FROM ${NODE_IMAGE} AS dependencies
LABEL jwt-ms.stage=dependencies
WORKDIR /app
COPY --from=build /workspace/dist/apps/console/server/package.json /workspace/dist/apps/console/server/package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# 3. Runtime: node, the server bundle, the built page and the dependencies; no npm cache, no
#    sources, not root. The server finds the page at ../web from server/main.mjs.
FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="jwt-ms console" \
      org.opencontainers.image.source="https://example.invalid/jwt-microservices"
WORKDIR /app
# CONSOLE_ISSUER has no default: the issuer is the deployment's to name (apps/console/src/server/console-config.ts).
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 NO_COLOR=1
COPY --from=dependencies /app/node_modules ./node_modules
COPY --from=build /workspace/dist/apps/console/server/main.mjs ./server/main.mjs
COPY --from=build /workspace/dist/apps/console/web ./web
USER 10001:10001
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "server/main.mjs"]
