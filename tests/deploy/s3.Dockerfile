# Stand-in for MinIO: maplink-s3-dev, the S3 protocol server the test suite runs
# (s3s-fs over a directory), from the tests crate. The context is a directory holding
# the binary.
FROM debian:bookworm-slim
COPY maplink-s3-dev /usr/local/bin/
RUN useradd --system --uid 10002 s3 && mkdir /data && chown s3 /data
WORKDIR /data
USER s3
EXPOSE 9000
