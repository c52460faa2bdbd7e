# Stand-in for the official redis:7 image, which cannot be pulled on machines without
# registry access: Debian's redis-server, started the way the official image starts
# it (accepting connections from other containers when given no config file).
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir /data && chown redis:redis /data
WORKDIR /data
USER redis
ENTRYPOINT ["sh", "-c", "if [ \"$1\" = redis-server ]; then shift; set -- redis-server --protected-mode no \"$@\"; fi; exec \"$@\"", "redis-entrypoint"]
CMD ["redis-server"]
EXPOSE 6379
