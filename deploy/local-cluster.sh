#!/usr/bin/env bash
# A local maplink cluster as plain processes, for trying the distributed mode without
# containers: a private redis-server (AOF on), the API, and N workers.
#
#   deploy/local-cluster.sh start [WORKERS]   # default 2; prints the API address
#   deploy/local-cluster.sh stop              # stops everything it started
#   deploy/local-cluster.sh status
#
# State (pids, logs, data, Redis files) lives in $MAPLINK_CLUSTER_DIR (default
# ./local-cluster). Binaries come from target/release (built if missing) or
# $MAPLINK_BIN_DIR. Ports: $MAPLINK_CLUSTER_REDIS_PORT (6390), $MAPLINK_CLUSTER_API_PORT
# (8090); workers' metrics on 9470, 9471, …
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${MAPLINK_CLUSTER_DIR:-$PWD/local-cluster}"
bin="${MAPLINK_BIN_DIR:-$root/target/release}"
redis_port="${MAPLINK_CLUSTER_REDIS_PORT:-6390}"
api_port="${MAPLINK_CLUSTER_API_PORT:-8090}"

wait_for() { # url, seconds
    for _ in $(seq 1 $(( $2 * 10 ))); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "nothing listening on port $1 after $2 s" >&2
    return 1
}

start() {
    local workers="${1:-2}"
    if [ -f "$dir/pids" ]; then echo "already running (see $dir/pids); stop it first" >&2; exit 1; fi
    if [ ! -x "$bin/maplink-api" ] || [ ! -x "$bin/maplink-worker" ]; then
        (cd "$root" && cargo build --release -p maplink-api -p maplink-worker)
    fi
    mkdir -p "$dir/redis" "$dir/data" "$dir/logs"
    : > "$dir/pids"
    redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$dir/redis" --appendonly yes \
        --save "" --daemonize no > "$dir/logs/redis.log" 2>&1 &
    echo "redis $!" >> "$dir/pids"
    wait_for "$redis_port" 10
    export MAPLINK_REDIS_URL="redis://127.0.0.1:$redis_port/" MAPLINK_DATA_DIR="$dir/data"
    MAPLINK_BIND="127.0.0.1:$api_port" "$bin/maplink-api" > "$dir/logs/api.log" 2>&1 &
    echo "api $!" >> "$dir/pids"
    for i in $(seq 1 "$workers"); do
        MAPLINK_WORKER_METRICS_BIND="127.0.0.1:$(( 9469 + i ))" "$bin/maplink-worker" > "$dir/logs/worker-$i.log" 2>&1 &
        echo "worker-$i $!" >> "$dir/pids"
    done
    wait_for "$api_port" 20
    echo "maplink cluster up: API http://127.0.0.1:$api_port (ops: /ops), Redis 127.0.0.1:$redis_port, $workers workers"
    echo "logs in $dir/logs; stop with: $0 stop"
}

stop() {
    if [ ! -f "$dir/pids" ]; then echo "not running" >&2; return 0; fi
    # Workers and API first (they finish or hand back jobs), Redis last.
    tac "$dir/pids" | while read -r name pid; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid"
            for _ in $(seq 1 450); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
            echo "stopped $name ($pid)"
        fi
    done
    rm -f "$dir/pids"
}

status() {
    if [ ! -f "$dir/pids" ]; then echo "not running"; return 0; fi
    while read -r name pid; do
        if kill -0 "$pid" 2>/dev/null; then echo "$name $pid running"; else echo "$name $pid gone"; fi
    done < "$dir/pids"
}

case "${1:-}" in
    start) start "${2:-2}" ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start [WORKERS] | stop | status" >&2; exit 2 ;;
esac
