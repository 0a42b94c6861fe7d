# qrlink: one static-ish binary on a distroless base, running as a non-root user.
#
#   docker build -t qrlink .
#   docker run -p 8080:8080 -v qrlink-data:/data -e QRLINK_BASE_URL=https://go.example.org qrlink
#
# Build stage: the toolchain named in rust-toolchain.toml, release profile (fat LTO).
FROM docker.io/library/rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p qrlink --bin qrlink \
 && install -D -m 0755 target/release/qrlink /out/qrlink \
 && install -d -o 65532 -g 65532 /out/data

# Run stage: glibc and CA certificates only; no shell, no package manager. UID 65532 is the
# image's `nonroot` user.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/qrlink /usr/local/bin/qrlink
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV QRLINK_LISTEN=0.0.0.0:8080 \
    QRLINK_DATA_DIR=/data \
    QRLINK_LOG_FORMAT=json
EXPOSE 8080
VOLUME ["/data"]
ENTRYPOINT ["/usr/local/bin/qrlink"]
CMD ["serve"]
