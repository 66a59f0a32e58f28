# syntax=docker/dockerfile:1.7
# Multi-stage build on the official Bun image: dependencies are installed from the lockfile in one stage,
# the runtime stage carries only production dependencies and the source, and runs as a non-root user.

FROM oven/bun:1.4.5 AS deps
WORKDIR /app
COPY package.json bun.lock ./
# Production dependencies only, without the peer dependencies bun would add for type-checking (TypeScript,
# bun-types, @types/*: ≈ 35 MB the server never loads).
RUN bun install --frozen-lockfile --production --omit=peer --ignore-scripts

FROM oven/bun:1.4.5 AS build
WORKDIR /app
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
COPY db ./db
COPY scripts ./scripts
RUN bun x tsc --noEmit -p tsconfig.json
# The API reference page serves one file of @scalar/api-reference (a development dependency: its own
# dependencies are 167 MB); src/plugins/docs-page.ts reads it from vendor/ when present.
RUN mkdir -p vendor/scalar-api-reference \
 && cp node_modules/@scalar/api-reference/package.json node_modules/@scalar/api-reference/dist/browser/standalone.js \
       vendor/scalar-api-reference/

FROM oven/bun:1.4.5-slim AS runtime
# The garbage collector sizes its heap against the machine's RAM, which in a container is the host's: on a
# large host it lets the heap grow far past what the machine (fly.toml: 512 MB) holds. Override to match.
ENV NODE_ENV=production \
    PORT=8080 \
    DATA_DIR=/app/data \
    BUN_JSC_forceRAMSize=536870912
WORKDIR /app
# pg_dump, pg_restore and psql for `bun run db:backup` / `db:restore` on the machine itself (Debian's client:
# PostgreSQL 15 on bookworm; a newer server needs the client of its own major version from apt.postgresql.org).
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/*
COPY --from=deps --chown=bun:bun /app/node_modules ./node_modules
COPY --chown=bun:bun package.json bun.lock tsconfig.json ./
# Copied from the stage that type-checked them, so the check cannot be skipped.
COPY --from=build --chown=bun:bun /app/src ./src
COPY --from=build --chown=bun:bun /app/db ./db
COPY --from=build --chown=bun:bun /app/scripts ./scripts
COPY --from=build --chown=bun:bun /app/vendor ./vendor
RUN mkdir -p /app/data && chown bun:bun /app/data
USER bun
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["bun", "-e", "const r = await fetch('http://127.0.0.1:' + (process.env.PORT ?? 8080) + '/health'); process.exit(r.ok ? 0 : 1)"]
STOPSIGNAL SIGTERM
CMD ["bun", "--max-http-header-size=262144", "src/index.ts"]
