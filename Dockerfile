# syntax=docker/dockerfile:1
# Build stage: compile TypeScript to dist/.
FROM node:26-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Runtime stage: Node, the compiled bot, and the ICMP tools (which carry their own
# cap_net_raw file capability, so the container needs no NET_RAW and runs as a plain user).
FROM node:26-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends fping iputils-ping ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json rules.example.yaml ./
RUN mkdir -p /etc/probebot /var/lib/probebot && cp rules.example.yaml /etc/probebot/rules.yaml \
 && chown -R node:node /var/lib/probebot
USER node
# The working directory is the writable volume, so a relative state.dir (./data) lands there.
WORKDIR /var/lib/probebot
VOLUME ["/var/lib/probebot"]
EXPOSE 8080
# The config is mounted at /etc/probebot/rules.yaml; state lives under /var/lib/probebot.
# The health check assumes server.port 8080 (the default); change it here if yours differs.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:8080/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["run", "-c", "/etc/probebot/rules.yaml"]
