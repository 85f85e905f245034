# syntax=docker/dockerfile:1
# tollgate's image: built in one stage, shipped with production dependencies only, run as an
# unprivileged user under tini so that SIGTERM reaches node (which drains, then exits 0).
#   docker build -t tollgate .
#   docker run -e DATABASE_URL=... -e KEY_ENCRYPTION_KEY=... -p 3000:3000 tollgate
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# `npm ci` generates the Prisma client and builds dist/ and the verifier (prepare).
COPY . .
RUN npm ci --no-audit --no-fund \
 && sh deploy/production-install.sh /src /app

FROM ${NODE_IMAGE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    NODE_OPTIONS=--enable-source-maps
WORKDIR /app
COPY --from=build --chown=root:root /app /app
# Nothing in /app is writable by the service; it needs no disk (its state is in PostgreSQL).
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# tini is PID 1: it forwards SIGTERM/SIGINT to node and reaps zombies; node's own handlers drain.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/server.js"]
