#!/usr/bin/env bash
# Starts throw-away PostgreSQL and Redis servers for the tests, each on a free loopback port, and prints the lines to
# source into the test run:  eval "$(.ci/services.sh start DIR)"  …  .ci/services.sh stop DIR
# Debian's postgresql and redis-server are installed by .ci/setup.sh. PostgreSQL refuses to run as root, so as root
# the cluster belongs to the postgres user.
set -euo pipefail

cmd=${1:?"usage: services.sh start|stop DIR"}
dir=${2:?"usage: services.sh start|stop DIR"}
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "$cmd" in
start)
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    pg_port=$(free_port)
    as_owner "$pgbin/initdb" -D "$dir/pg" -U foresight --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1
    as_owner "$pgbin/pg_ctl" -D "$dir/pg" -l "$dir/pg.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
    redis_port=$(free_port)
    redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
        --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir"
    for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    echo "export FORESIGHT_TEST_POSTGRES='Host=127.0.0.1;Port=$pg_port;Username=foresight;Database=postgres'"
    echo "export FORESIGHT_TEST_REDIS='127.0.0.1:$redis_port'"
    ;;
stop)
    [ -d "$dir/pg" ] && as_owner "$pgbin/pg_ctl" -D "$dir/pg" -m immediate stop >/dev/null 2>&1 || true
    [ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
    rm -rf "$dir"
    ;;
*) echo "usage: services.sh start|stop DIR" >&2; exit 2 ;;
esac
