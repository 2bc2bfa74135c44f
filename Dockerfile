# Build a static binary.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/newsflash ./cmd/newsflash \
 && mkdir /out/data

# Run it as distroless's "nonroot" user (uid 65532): CA certificates and time
# zones, no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/newsflash /newsflash
# /data must belong to the runtime user: a named volume mounted there starts
# as a copy of this directory, owner included. (A bind mount keeps the host's
# owner: make it writable by uid 65532.)
COPY --from=build --chown=65532:65532 /out/data /data
# Numeric, so that Kubernetes' runAsNonRoot can check it.
USER 65532:65532
WORKDIR /data
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/newsflash", "serve", "--data-dir", "/data"]
