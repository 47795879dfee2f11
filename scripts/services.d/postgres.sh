# PostgreSQL 15 (Debian) for the sql-blob backend: a private cluster on 127.0.0.1.
#
# initdb and pg_ctl refuse to run as root, so they run as the `postgres` user
# (created by the Debian package) through `runuser`. The cluster (data dir,
# socket dir, log) must be reachable by that user: when the state directory
# is not (e.g. under a root-only home), the cluster goes to
# /var/tmp/storeroom-pg-<hash of the state dir>, recorded in the state dir.
# A password-authenticated test role and database are created, with
# scram-sha-256 for TCP clients, so wrong-password tests are real.

_pg_bin() { printf '%s' "/usr/lib/postgresql/15/bin"; }

_pg_as() { runuser -u postgres -- "$@"; }

# The cluster directory (decided once, remembered in the state dir).
_pg_cluster() {
    local state f dir
    state="$(svc_dir postgres)"; f="$state/cluster"
    if [ -s "$f" ]; then cat "$f"; return; fi
    dir="$state/cluster.d"
    if ! runuser -u postgres -- test -x "$state" 2>/dev/null; then
        dir="/var/tmp/storeroom-pg-$(printf '%s' "$state" | sha256sum | cut -c1-16)"
    fi
    printf '%s' "$dir" >"$f"
    printf '%s' "$dir"
}

_pg_password() {
    local f; f="$(svc_dir postgres)/password"
    if [ ! -s "$f" ]; then
        (umask 077; python3 -c 'import secrets; print(secrets.token_hex(16))' >"$f")
    fi
    cat "$f"
}

_pg_running() {
    local dir; dir="$(_pg_cluster)"
    [ -s "$dir/data/postmaster.pid" ] && _pg_as "$(_pg_bin)/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

svc_postgres_up() {
    local bin dir port pass
    bin="$(_pg_bin)"
    [ -x "$bin/postgres" ] || apt_install postgresql
    [ -x "$bin/postgres" ] || die "postgres: $bin/postgres not found after installing postgresql"
    id postgres >/dev/null 2>&1 || die "postgres: the 'postgres' user is missing"
    dir="$(_pg_cluster)"; port="$(svc_port postgres)"; pass="$(_pg_password)"
    install -d -o postgres -g postgres -m 700 "$dir" "$dir/sock"
    if [ ! -s "$dir/data/PG_VERSION" ]; then
        log "postgres: initdb in $dir/data"
        _pg_as "$bin/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C \
            --auth-local=trust --auth-host=scram-sha-256 >&2
    fi
    if ! _pg_running; then
        log "postgres: starting on 127.0.0.1:$port"
        _pg_as "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/sock -c fsync=off \
-c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >&2 \
            || { tail -n 20 "$dir/postgres.log" >&2; die "postgres: pg_ctl start failed"; }
    fi
    head -n 1 "$dir/data/postmaster.pid" >"$(pidfile postgres)"
    local psql=("$bin/psql" -X -q -h "$dir/sock" -p "$port" -U postgres -v ON_ERROR_STOP=1)
    _pg_as "${psql[@]}" -d postgres >&2 <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'storeroom') THEN
    CREATE ROLE storeroom LOGIN;
  END IF;
END \$\$;
ALTER ROLE storeroom WITH LOGIN PASSWORD '$pass';
SQL
    if [ -z "$(_pg_as "${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'storeroom'")" ]; then
        _pg_as "${psql[@]}" -d postgres -c "CREATE DATABASE storeroom OWNER storeroom" >&2
    fi
    wait_port "$port" 30
}

svc_postgres_env() {
    echo "export STOREROOM_TEST_SQL_URL=postgresql+psycopg://storeroom:$(_pg_password)@127.0.0.1:$(svc_port postgres)/storeroom"
}

svc_postgres_down() {
    local dir; dir="$(_pg_cluster)"
    if [ -s "$dir/data/postmaster.pid" ]; then
        _pg_as "$(_pg_bin)/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >&2 || stop_pid postgres
    fi
    rm -f "$(pidfile postgres)"
}
