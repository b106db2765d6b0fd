#!/usr/bin/env bash
# A throw-away PostgreSQL server in a folder, for the tests and the workers bench.
#
#   scripts/postgres-sandbox.sh start DIR   # prints the server's URL (with its password) on stdout
#   scripts/postgres-sandbox.sh stop DIR    # stops it; DIR can then be deleted
#
# The server listens on 127.0.0.1 at a free port and on a Unix socket in DIR, with password
# (scram-sha-256) authentication, fsync off (nothing in it needs to survive a power cut). It needs
# PostgreSQL's server binaries (Debian: apt-get install postgresql). initdb refuses to run as
# root, so as root the server runs as the `postgres` user that Debian's package creates.
set -euo pipefail
cmd=${1:?usage: postgres-sandbox.sh start|stop DIR}
dir=${2:?usage: postgres-sandbox.sh start|stop DIR}
bindir=$(pg_config --bindir 2>/dev/null || true)
if [ ! -x "$bindir/initdb" ]; then bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1); fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "postgres-sandbox: PostgreSQL's server (initdb, pg_ctl) is not installed; run scripts/install-deps.sh" >&2
    exit 2
fi
as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$cmd" in
start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" = 0 ]; then
        chown postgres "$dir"
        runuser -u postgres -- test -w "$dir" || {
            echo "postgres-sandbox: the postgres user cannot reach $dir (a folder above it is private: chmod 755 it)" >&2
            exit 2
        }
    fi
    password=swiftnas-$RANDOM$RANDOM
    printf '%s\n' "$password" > "$dir/pwfile"
    [ "$(id -u)" = 0 ] && chown postgres "$dir/pwfile"
    as_owner "$bindir/initdb" -D "$dir/data" -U swiftnas --auth=scram-sha-256 --pwfile="$dir/pwfile" \
        --no-sync --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 2; }
    rm -f "$dir/pwfile"
    for attempt in 1 2 3 4 5 6 7 8; do
        port=$((20000 + (RANDOM % 30000)))
        if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
            -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
            start >/dev/null 2>&1; then
            echo "postgresql://swiftnas:$password@127.0.0.1:$port/postgres"
            exit 0
        fi
    done
    echo "postgres-sandbox: the server did not start; its log:" >&2
    tail -20 "$dir/server.log" >&2 || true
    exit 2
    ;;
stop)
    [ -d "$dir/data" ] && as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    ;;
*)
    echo "usage: postgres-sandbox.sh start|stop DIR" >&2
    exit 2
    ;;
esac
