#!/usr/bin/env bash
# A local maplink cluster as plain processes, for trying the distributed mode without
# containers: a private redis-server (AOF on), the API, and N workers.
#
#   deploy/local-cluster.sh start [WORKERS] [--s3]   # default 2; prints the API address
#   deploy/local-cluster.sh stop                     # stops everything it started
#   deploy/local-cluster.sh status
#
# Session files, two ways (--s3, or MAPLINK_CLUSTER_STORAGE=s3|local; local by default):
# - local: every process uses the same data dir, as on one machine.
# - s3: the API and each worker get their own empty data dir and share only Redis and a
#   bucket on a development S3 server (maplink-s3-dev, from the tests crate) that this
#   script runs on 127.0.0.1, as on many machines. The settings the processes get are
#   written to storage.env in the cluster dir, in the format of
#   deploy/systemd/storage.env.example.
#
# State (pids, logs, data, Redis files, the bucket) lives in $MAPLINK_CLUSTER_DIR
# (default ./local-cluster). Binaries come from target/release (built if missing) or
# $MAPLINK_BIN_DIR. Ports: $MAPLINK_CLUSTER_REDIS_PORT (6390), $MAPLINK_CLUSTER_API_PORT
# (8090), $MAPLINK_CLUSTER_S3_PORT (9380); workers' metrics on 9470, 9471, …
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${MAPLINK_CLUSTER_DIR:-$PWD/local-cluster}"
bin="${MAPLINK_BIN_DIR:-$root/target/release}"
redis_port="${MAPLINK_CLUSTER_REDIS_PORT:-6390}"
api_port="${MAPLINK_CLUSTER_API_PORT:-8090}"
s3_port="${MAPLINK_CLUSTER_S3_PORT:-9380}"
pids_file="$dir/pids"
bucket=maplink

wait_for() { # port, seconds
    for _ in $(seq 1 $(( $2 * 10 ))); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "nothing listening on port $1 after $2 s" >&2
    return 1
}

# Builds a missing binary in release mode; with MAPLINK_BIN_DIR set elsewhere, only
# says how, since a release build would not land there.
need() { # binary, cargo package
    [ -x "$bin/$1" ] && return 0
    if [ "$bin" != "$root/target/release" ]; then
        echo "$bin/$1 is missing (cargo build -p $2 --bin $1)" >&2
        exit 1
    fi
    (cd "$root" && cargo build --release -p "$2" --bin "$1")
}

# The bucket's settings, as systemd's EnvironmentFile would hold them. The secret is
# new for every start: nothing but this cluster's processes needs it.
write_storage_env() {
    local secret
    secret="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
    (
        umask 077
        cat > "$dir/storage.env" <<EOF
MAPLINK_STORAGE_URL=s3://$bucket/sessions
AWS_ENDPOINT_URL=http://127.0.0.1:$s3_port
AWS_ACCESS_KEY_ID=maplink-local
AWS_SECRET_ACCESS_KEY=$secret
AWS_REGION=us-east-1
AWS_ALLOW_HTTP=true
EOF
    )
}

start() {
    local workers=2 storage="${MAPLINK_CLUSTER_STORAGE:-local}"
    for arg in "$@"; do
        case "$arg" in
            --s3) storage=s3 ;;
            --local) storage=local ;;
            *[!0-9]* | '') echo "unknown argument: $arg" >&2; exit 2 ;;
            *) workers="$arg" ;;
        esac
    done
    case "$storage" in
        local | s3) ;;
        *) echo "MAPLINK_CLUSTER_STORAGE must be local or s3, not $storage" >&2; exit 2 ;;
    esac
    if [ -f "$pids_file" ]; then echo "already running (see $pids_file); stop it first" >&2; exit 1; fi
    need maplink-api maplink-api
    need maplink-worker maplink-worker
    if [ "$storage" = s3 ]; then need maplink-s3-dev maplink-tests; fi
    mkdir -p "$dir/redis" "$dir/logs"
    echo "$storage" > "$dir/storage"
    : > "$pids_file"

    # Whatever the caller's shell holds, the mode chosen here decides where files go.
    unset MAPLINK_STORAGE_URL
    while read -r var; do unset "$var"; done < <(compgen -e | grep '^AWS_' || true)

    if [ "$storage" = s3 ]; then
        mkdir -p "$dir/s3"
        write_storage_env
        set -a
        # shellcheck source=/dev/null
        . "$dir/storage.env"
        set +a
        # Started first and so stopped last: workers finishing a job still write to it.
        "$bin/maplink-s3-dev" --addr "127.0.0.1:$s3_port" --dir "$dir/s3" --bucket "$bucket" \
            --access-key "$AWS_ACCESS_KEY_ID" --secret-key "$AWS_SECRET_ACCESS_KEY" \
            > "$dir/logs/s3.log" 2>&1 &
        echo "s3 $!" >> "$pids_file"
        wait_for "$s3_port" 10
    fi

    redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$dir/redis" --appendonly yes \
        --save "" --daemonize no > "$dir/logs/redis.log" 2>&1 &
    echo "redis $!" >> "$pids_file"
    wait_for "$redis_port" 10
    export MAPLINK_REDIS_URL="redis://127.0.0.1:$redis_port/"

    MAPLINK_DATA_DIR="$(data_dir "$storage" api)" MAPLINK_BIND="127.0.0.1:$api_port" \
        "$bin/maplink-api" > "$dir/logs/api.log" 2>&1 &
    echo "api $!" >> "$pids_file"
    for i in $(seq 1 "$workers"); do
        MAPLINK_DATA_DIR="$(data_dir "$storage" "worker-$i")" \
            MAPLINK_WORKER_METRICS_BIND="127.0.0.1:$(( 9469 + i ))" \
            "$bin/maplink-worker" run > "$dir/logs/worker-$i.log" 2>&1 &
        echo "worker-$i $!" >> "$pids_file"
    done
    wait_for "$api_port" 20
    echo "maplink cluster up: API http://127.0.0.1:$api_port (ops: /ops), Redis 127.0.0.1:$redis_port, $workers workers"
    if [ "$storage" = s3 ]; then
        echo "session files in s3://$bucket/sessions on http://127.0.0.1:$s3_port (objects under $dir/s3/$bucket; settings in $dir/storage.env)"
    else
        echo "session files in $dir/data"
    fi
    echo "logs in $dir/logs; stop with: $0 stop"
}

# local: one dir for all. s3: one per process, emptied at start, so that whatever is
# found there afterwards was written by this run (and should be nothing).
data_dir() { # storage, process name
    if [ "$1" = local ]; then
        mkdir -p "$dir/data"
        echo "$dir/data"
    else
        rm -rf "${dir:?}/data-$2"
        mkdir -p "$dir/data-$2"
        echo "$dir/data-$2"
    fi
}

stop() {
    if [ ! -f "$pids_file" ]; then echo "not running" >&2; return 0; fi
    # Workers and API first (they finish or hand back jobs), then Redis, then the S3
    # server.
    tac "$pids_file" | while read -r name pid; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid"
            for _ in $(seq 1 450); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
            echo "stopped $name ($pid)"
        fi
    done
    rm -f "$pids_file"
}

status() {
    if [ ! -f "$pids_file" ]; then echo "not running"; return 0; fi
    echo "session files: $(cat "$dir/storage" 2>/dev/null || echo local)"
    while read -r name pid; do
        if kill -0 "$pid" 2>/dev/null; then echo "$name $pid running"; else echo "$name $pid gone"; fi
    done < "$pids_file"
}

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start [WORKERS] [--s3] | stop | status" >&2; exit 2 ;;
esac
