# syntax=docker/dockerfile:1
# eft-footprint as a container: the same single binary compile.sh builds, on a minimal base.
#   docker build --build-arg EFT_COMMIT=$(git rev-parse --short HEAD) -t eft-footprint .
#   docker run --env-file ./env -p 8080:8080 eft-footprint            # serve (the default)
#   docker run --env-file ./env --no-healthcheck eft-footprint consume # a consumer (no HTTP port)
# Not built in CI (no container engine there): deploy/deploy.test.ts only lints it.

# --- build: Bun compiles app/main.ts into one executable -----------------------------------------------
FROM oven/bun:1.4.4 AS build
WORKDIR /src
# Dependencies first, so a source change reuses this layer. Production only: the dev stack's chdb
# and embedded-postgres are large and never part of the binary.
COPY package.json bun.lock bunfig.toml ./
RUN bun install --frozen-lockfile --production --ignore-scripts
COPY . .
ARG EFT_COMMIT=unknown
RUN EFT_COMMIT="${EFT_COMMIT}" ./compile.sh /out/eft-footprint \
 && mkdir -p /out/state

# --- run: glibc and nothing else (no shell, no package manager), as a non-root user --------------
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/eft-footprint /usr/local/bin/eft-footprint
# Working directory for anything relative (spool, LOG_DIR=logs): writable by the nonroot user.
COPY --from=build --chown=65532:65532 /out/state /var/lib/eft-footprint
WORKDIR /var/lib/eft-footprint
USER 65532:65532
ENV HOST=0.0.0.0 \
    PORT=8080
EXPOSE 8080
# The image has no curl: the binary checks itself (GET /healthz on HOST:PORT).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/eft-footprint", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/eft-footprint"]
CMD ["serve"]
