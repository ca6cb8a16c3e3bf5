# syntax=docker/dockerfile:1
# Overpass relay image. docs/operating.md ("Docker") has the run commands.
#
# Stage 1 builds what `npm ci` builds on a host: the TypeScript (dist/) and the
# native addons (TUN, batched UDP, timer; node-gyp needs python3, make, g++),
# then installs the packed package into /opt/overpass as `npm install -g` would.
# Stage 2 is the runtime: Node, iproute2 (an L3 relay configures its TUN with
# `ip`) and the installed package; no compiler.

FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.build.json binding.gyp README.md ./
COPY bin/ bin/
COPY native/ native/
COPY src/ src/
COPY lab/ lab/
COPY bench/ bench/
COPY docs/ docs/
COPY packaging/ packaging/
# npm ci compiles the addons and runs `prepare` (tsc); npm pack then makes the
# same tarball an operator installs, and the global install builds its addons.
RUN npm ci --no-audit --no-fund \
 && npm pack --ignore-scripts --silent \
 && npm install -g ./overpass-*.tgz --prefix /opt/overpass --omit=dev --no-audit --no-fund \
      --allow-scripts=overpass,raw-socket,msgpackr-extract,sodium-native \
 && test -f /opt/overpass/lib/node_modules/overpass/build/Release/overpass_udp.node

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends iproute2 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /etc/overpass /run/overpass \
 && chown node:node /run/overpass
COPY --from=build /opt/overpass /opt/overpass
ENV PATH=/opt/overpass/bin:$PATH
# An L4 relay on ports above 1024 needs no privilege. An L3 relay needs root in
# the container with CAP_NET_ADMIN and the TUN device:
#   docker run --user root --cap-add NET_ADMIN --device /dev/net/tun ...
USER node
WORKDIR /etc/overpass
ENTRYPOINT ["overpass"]
CMD ["up", "-c", "/etc/overpass/relay.yaml"]
