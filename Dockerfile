# syntax=docker/dockerfile:1
# The stampede binary (reference server, payment processor, driver and checker in one), built
# from this repository. docker-compose.yml runs it as `serve`, as `psp` and as the driver of its
# run service; deploy/kubernetes runs it the same ways.

# Build stage: the module's dependencies first, so they stay cached while the code changes.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/stampede ./cmd/stampede

# Runtime stage: a small Debian with curl for the health checks, running as an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin stampede
COPY --from=build /out/stampede /usr/local/bin/stampede
# The ready-made scenarios, for the driver in compose's run service and the Kubernetes Jobs
# (deploy/kubernetes), and a directory of the unprivileged user's for their runs.
COPY --from=build /src/scenarios /usr/share/stampede/scenarios
RUN install -d -o stampede -g stampede /var/lib/stampede
USER stampede
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/stampede"]
CMD ["serve"]
