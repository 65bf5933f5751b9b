# syntax=docker/dockerfile:1
# Build stage: a static binary (no cgo), with module and build caches.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/cointracker ./cmd/cointracker

# Run stage: distroless static, non-root; migrations are embedded.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/cointracker /cointracker
USER nonroot:nonroot
EXPOSE 8000
ENV HTTP_ADDR=:8000
ENTRYPOINT ["/cointracker"]
CMD ["serve"]
