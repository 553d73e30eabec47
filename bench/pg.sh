# A throwaway PostgreSQL server for a benchmark, started the way the tests
# start theirs (tests/pg_support/mod.rs): Debian's initdb and pg_ctl run as
# the postgres user on a data dir of its own, listening on 127.0.0.1 and a
# free port, password login over TCP. Unlike the tests' server it keeps
# PostgreSQL's durable defaults (fsync and synchronous_commit on), as a
# production one would. pg_start registers pg_stop as an exit hook, so the
# server stops (and its dir goes) on any exit, failure included.
# Needs common.sh (free_port, exit_hooks, die).

PG_PASSWORD=bench-pg-pw-$$

pg_start() {
    pg_bin=$(compgen -G "/usr/lib/postgresql/*/bin" | sort -V | tail -1)
    [ -x "$pg_bin/initdb" ] || die "no PostgreSQL server binaries (apt-get install postgresql)"
    # Outside $work: the postgres user must reach it, and $work is root's 0700.
    pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/wsprobe-bench-pg.XXXXXX")
    exit_hooks+=(pg_stop)
    printf '%s' "$PG_PASSWORD" >"$pg_dir/pw"
    chown -R postgres:postgres "$pg_dir"
    runuser -u postgres -- "$pg_bin/initdb" -D "$pg_dir/data" -U postgres -E UTF8 --no-sync \
        --auth-local=trust --auth-host=scram-sha-256 --pwfile="$pg_dir/pw" >"$pg_dir/initdb.log" 2>&1 ||
        die "initdb failed: $(tail -3 "$pg_dir/initdb.log")"
    free_port pg_port
    runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $pg_port -c unix_socket_directories=$pg_dir" start >/dev/null ||
        die "PostgreSQL did not start: $(tail -3 "$pg_dir/log")"
    pg_pid=$(head -1 "$pg_dir/data/postmaster.pid")
}

pg_stop() {
    [ -n "${pg_dir:-}" ] || return 0
    [ -f "$pg_dir/data/postmaster.pid" ] &&
        runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate -w stop >/dev/null 2>&1
    rm -rf "$pg_dir"
    pg_dir=""
}

# pg_query SQL [DB (the last created)]: unaligned, tuples only, fields split by |.
pg_query() {
    runuser -u postgres -- psql -X -q -h "$pg_dir" -p "$pg_port" -d "${2:-${pg_db:-postgres}}" -At \
        -v ON_ERROR_STOP=1 -c "$1"
}

pg_create_database() { pg_query "CREATE DATABASE $1" postgres >/dev/null; pg_db=$1; }
pg_drop_database() { pg_query "DROP DATABASE $1" postgres >/dev/null; }

pg_url_of() { echo "postgres://postgres:$PG_PASSWORD@127.0.0.1:$pg_port/$1?sslmode=disable"; }

# utime + stime of every process of the server, in clock ticks: the
# postmaster with its reaped children (cutime, cstime) and the live ones.
pg_cpu_ticks() {
    local total child ticks
    total=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pg_pid/stat")
    for child in $(ps -o pid= --ppid "$pg_pid"); do
        ticks=$(awk '{ print $14 + $15 }' "/proc/$child/stat" 2>/dev/null) || continue
        total=$((total + ticks))
    done
    echo "$total"
}
