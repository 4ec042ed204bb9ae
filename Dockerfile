# syntax=docker/dockerfile:1
# The stampede binary (reference server, payment processor, driver and checker in one), built
# from this repository. docker-compose.yml runs it as `serve` and as `psp`.

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
USER stampede
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/stampede"]
CMD ["serve"]
