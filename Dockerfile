# syntax=docker/dockerfile:1
# Tandem in a container: a static binary (the SQLite driver is pure Go, so
# CGO_ENABLED=0), run as a non-root user, with its database in the /data
# volume. docs/deploy.md explains how to run it.
#
#   docker build -t tandem .
#   docker run -d --name tandem -p 127.0.0.1:8080:8080 -v tandem-data:/data tandem

# --- build -------------------------------------------------------------------
FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, so that a change to the sources alone reuses this layer.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The browser app is already built and committed (frontend/dist) and is
# embedded by go build: no Node.js is needed here. .dockerignore leaves .git
# out, so there is no VCS stamp to read: -buildvcs=false says so.
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags='-s -w' -o /out/tandem . \
 && /out/tandem -version
# The folders the final image needs, owned by the user that runs it: /data
# (the volume) and /tmp (SQLite's temporary files, e.g. for large sorts).
RUN mkdir -p /out/data /out/tmp && chmod 1777 /out/tmp && chown 65532:65532 /out/data

# --- run ---------------------------------------------------------------------
# Nothing but the binary: no shell, no package manager, no curl.
FROM scratch
COPY --from=build /out/tandem /tandem
COPY --from=build /out/tmp /tmp
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
VOLUME /data
EXPOSE 8080
# The same as the flags below, for when a `docker run` gives other flags
# (which replace CMD): e.g. `docker run ... tandem -public-url https://...`.
ENV TANDEM_ADDR=0.0.0.0:8080 TANDEM_DATA=/data TMPDIR=/tmp
# No HEALTHCHECK: the image has no shell or HTTP client to run one with.
# Watch GET /healthz from outside (docs/deploy.md, "What to monitor").
ENTRYPOINT ["/tandem"]
CMD ["-addr", "0.0.0.0:8080", "-data", "/data"]
