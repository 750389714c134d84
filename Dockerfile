# syntax=docker/dockerfile:1
# cdnpurge's container image, for amd64 and arm64:
#
#   docker buildx build --platform linux/amd64,linux/arm64 -t cdnpurge .
#
# The build stage runs on the builder's own platform and cross-compiles (Go
# needs no emulation); the image is scratch with the CA bundle and the static
# binary. `go run ./deploy/image` assembles the same image offline, and a test
# (deploy/image) checks that this file and that builder agree. See
# docs/operate/image.md.

FROM --platform=$BUILDPLATFORM golang:1.26.8-bookworm AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w -buildid=" -o /out/cdnpurge ./cmd/cdnpurge

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build --chmod=0755 /out/cdnpurge /usr/local/bin/cdnpurge
ENV PATH=/usr/local/bin
# distroless's nonroot user and group, numeric: scratch has no /etc/passwd.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["cdnpurge"]
CMD ["serve", "--addr", ":8080"]
