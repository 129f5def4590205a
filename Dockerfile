# K8s Manager image: build stage compiles TypeScript, runtime stage has only
# production dependencies, the OpenSSH client (userjobs) and runs as non-root.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssh-client ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 k8smgr && useradd --uid 10001 --gid 10001 --create-home k8smgr
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY bin ./bin
USER 10001:10001
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/bin/k8smgr.js"]
CMD ["serve"]
