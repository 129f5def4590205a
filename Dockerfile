# K8s Manager image. The build stage type-checks and bundles the manager with
# its libraries into dist/bundle/ (`npm run build`: one tree-shaken ES module
# plus the admin page's files), so the runtime stage needs no node_modules:
# Node.js, the OpenSSH client (userjobs), tini, and the bundle; non-root.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs ./scripts/
COPY src ./src
RUN npm run build

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssh-client ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 k8smgr && useradd --uid 10001 --gid 10001 --create-home k8smgr
WORKDIR /app
COPY package.json ./
COPY --from=build /src/dist/bundle ./dist/bundle
COPY bin ./bin
USER 10001:10001
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0
EXPOSE 8080
# V8 sized for a service whose live heap is 30-100 MiB (docs/performance.md, "Memory"):
# a 2 MiB young generation semi-space (default 16), the old generation grown by 25 %
# over the live heap after a full GC (default: up to 2x), one V8 worker thread.
# The bench (npm run bench) runs the manager with exactly these flags.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--max-semi-space-size=2", "--heap-growing-percent=25", "--v8-pool-size=1", "/app/bin/k8smgr.js"]
CMD ["serve"]
