# syntax=docker/dockerfile:1
#
# The bank's one binary (bank api | worker | notifier | serve | migrate |
# operator), statically linked, on a distroless base as a non-root user.
# deploy/compose.yaml runs the whole bank from it; docs/DEPLOYMENT.md says
# how. Not built in CI (no Docker engine there).
#
#   docker build -t bankcore/bank .

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# CGO off: a static binary that needs no libc in the image.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/bank ./cmd/bank && \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/healthcheck ./cmd/healthcheck

# No shell, no package manager; uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bank /out/healthcheck /usr/local/bin/
USER nonroot:nonroot
# HTTP API (HTTP_ADDR) and the workers' and notifier's metrics (METRICS_ADDR).
EXPOSE 8080 9090
# The API's readiness: PostgreSQL, RabbitMQ, Redis and Temporal answer. A
# worker or notifier container overrides it with its metrics port
# (deploy/compose.yaml).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/healthcheck", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["/usr/local/bin/bank"]
CMD ["api"]
