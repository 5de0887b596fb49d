# netsec's image: the project's pinned Node 24 runtime, production dependencies only, a non-root user,
# NETSEC_HOME on a volume, `netsec serve` on port 8000 by default.
#
#   docker build -t netsec .
#   docker run -p 8000:8000 -v netsec-home:/data -e NETSEC_API_TOKEN=… netsec            # serve
#   docker run -v netsec-home:/data netsec train --dataset phishing                        # any command
#
# Configuration comes only from the environment variables documented in the README ("Deploy").
# Without a container engine (as on the project's CI machines), scripts/test-container builds this
# file unchanged with buildah.
ARG BASE_IMAGE=debian:bookworm-slim

# ---- build: npm packages, the Node 24 binary out of the `node` npm package ------------------------
FROM ${BASE_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm binutils ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# Debian's npm only installs; the runtime is the project's pinned Node 24 (the devDependency `node`),
# copied out without its debug symbols before the tree is reinstalled with production packages alone.
# onnxruntime-node's install script would only try to download optional CUDA libraries: skipped.
# Behind a TLS-intercepting proxy, give its CA bundle as a build secret (`--secret id=ca,src=bundle.crt`);
# it is used for the npm downloads only and never stored in a layer.
ENV ONNXRUNTIME_NODE_INSTALL=skip
RUN --mount=type=secret,id=ca \
    if [ -s /run/secrets/ca ]; then export npm_config_cafile=/run/secrets/ca NODE_EXTRA_CA_CERTS=/run/secrets/ca; fi \
 && npm ci --no-audit --no-fund --loglevel=error \
 && cp -L node_modules/node/bin/node /usr/local/bin/node \
 && strip --strip-debug /usr/local/bin/node \
 && rm -rf node_modules \
 && npm ci --omit=dev --no-audit --no-fund --loglevel=error \
 && npm cache clean --force \
 && /usr/local/bin/node -e 'require("onnxruntime-node")'
# onnxruntime-node ships binaries for every platform; keep this one's (about 250 MB less)
RUN keep="$(/usr/local/bin/node -p 'process.platform + "/" + process.arch')" \
 && cd node_modules/onnxruntime-node/bin/napi-v6 \
 && for d in */*; do [ "$d" = "$keep" ] || rm -rf "$d"; done \
 && test -d "$keep" \
 && cd /app && find node_modules -type d -empty -delete

# ---- runtime -----------------------------------------------------------------------------------------
FROM ${BASE_IMAGE}
RUN groupadd --system --gid 10001 netsec \
 && useradd --system --uid 10001 --gid netsec --home-dir /data --no-create-home --shell /usr/sbin/nologin netsec \
 && mkdir -p /data \
 && chown netsec:netsec /data
COPY --from=build /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY datasets ./datasets
COPY src ./src
ENV NODE_ENV=production \
    NETSEC_HOME=/data \
    HOST=0.0.0.0 \
    PORT=8000
VOLUME ["/data"]
USER netsec
EXPOSE 8000
# ready = a model is loaded and answering; node is the only tool the image has for an HTTP check
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT||8000}/health/ready`).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "/app/bin/netsec.js"]
CMD ["serve"]
