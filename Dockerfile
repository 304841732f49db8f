# One image for every Portcullis service; compose.yaml picks the entry point per container.
FROM node:20-bookworm-slim AS build
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
RUN npm install -g pnpm@10.34.9
WORKDIR /app
COPY . .
RUN pnpm install --frozen-lockfile && pnpm build && pnpm prune --prod

FROM node:20-bookworm-slim
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends nftables libnftables1 iptables ipset iproute2 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app /app
ENTRYPOINT ["node"]
CMD ["packages/cli/dist/bin.js", "up", "--config", "/etc/portcullis", "--state", "/var/lib/portcullis"]
