# Stand-in for prom/prometheus: Debian's prometheus, with the official image's
# paths (configuration in /etc/prometheus, data in /prometheus).
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends prometheus \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir /prometheus && chown prometheus /prometheus
WORKDIR /prometheus
USER prometheus
ENTRYPOINT ["prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
EXPOSE 9090
