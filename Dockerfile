# Schoolgate for schools: docker compose up -d (see docker-compose.yml).
# Build stage: install, compile TypeScript to dist/, drop dev dependencies.
FROM node:24-bookworm-slim AS build
WORKDIR /app
# Toolchain for native modules (better-sqlite3, msgpackr-extract) where no prebuilt binary fits.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
# npm ci runs the prepare script, bin/build.js, which finds no src/ yet and compiles nothing; the
# sources come after, so a change to them does not install every package again.
COPY bin/build.js ./bin/
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Runtime stage: Node 24, an LTS line (supported to April 2028), no compiler, not root.
FROM node:24-bookworm-slim
ENV NODE_ENV=production
# glibc's allocator, set before Node starts: each reload builds the lists in a worker thread, and
# with the defaults the memory it frees stays in per-thread arenas and in the heap below
# allocations that outlive it, so the RSS climbs and swings by a quarter across reloads. Two
# arenas, and every allocation of 128 KiB or more mapped on its own (returned when freed), keep
# it flat (bench/RESULTS.md, "RSS over 1,000,000 requests and 20 reloads").
ENV MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
# The compiled JavaScript only: without src/, bin/schoolgate.js runs dist/ as it is.
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY config ./config
COPY blocklists ./blocklists
# Schoolgate runs as uid 1000 ("node"). It writes data/ (a volume, owned by it here) and
# config/, where the staff app saves filter levels: the entry point checks both at every start
# and says which chown fixes a bind-mounted folder it cannot write.
RUN mkdir -p /app/data && chown node:node /app/data /app/config /app/config/default.yaml
USER node
VOLUME ["/app/data"]
EXPOSE 3128 8081
# The proxy answers /healthz itself; the image has no curl, so Node asks (bin/healthcheck.js).
# SCHOOLGATE_HEALTH_URL points it elsewhere when proxy.port is not 3128.
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 CMD ["node", "bin/healthcheck.js"]
ENTRYPOINT ["/bin/sh", "/app/bin/docker-entrypoint.sh"]
CMD ["node", "bin/schoolgate.js", "start", "--config", "config/default.yaml", "--data", "data"]
