# Schoolgate for schools: docker compose up -d (see docker-compose.yml).
# Build stage: install, compile TypeScript to dist/, drop dev dependencies.
FROM node:24-bookworm-slim AS build
WORKDIR /app
# Toolchain for native modules built from source (better-sqlite3, when the store lands).
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Runtime stage: the current LTS, no compiler, not root.
FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY config ./config
COPY blocklists ./blocklists
RUN mkdir -p /app/data && chown node:node /app/data
USER node
VOLUME ["/app/data"]
EXPOSE 3128 8081
CMD ["node", "bin/schoolgate.js", "start", "--config", "config/default.yaml", "--data", "data"]
