# shellcheck shell=bash
# PostgreSQL for the test command: finds a server, starts the machine's own, or runs a throwaway
# cluster. Exports TICKLER_TEST_DATABASE_URL (a base URL; tests create a fresh database per test).
# Sourced by scripts/test after common.sh.

PG_HOST=127.0.0.1
PG_PORT=5432

# Finds a PostgreSQL binary (initdb, pg_ctl, postgres) on PATH or in Debian's versioned directories.
pg_binary() {
    local name="$1" candidate
    if have "$name"; then
        command -v "$name"
        return 0
    fi
    for candidate in /usr/lib/postgresql/*/bin/"$name" /usr/local/bin/"$name"; do
        if [[ -x "$candidate" ]]; then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
    return 1
}

pg_answers() {
    local host="$1" port="$2" pg_isready
    if pg_isready=$(pg_binary pg_isready); then
        "$pg_isready" -q -h "$host" -p "$port" -t 2
    else
        wait_for_port "$host" "$port" 2
    fi
}

# Fails with a clear message unless URL accepts a connection and lets us create databases.
pg_check_url() {
    local url="$1" psql
    psql=$(pg_binary psql) || return 0 # without a client, pg_isready's answer is all we can know
    if ! "$psql" -X -q -t -A -d "$url" -c 'select 1' >/dev/null; then
        die "PostgreSQL answers at $url but refuses the connection; set TICKLER_TEST_DATABASE_URL to a URL whose user may create databases"
    fi
    if [[ "$("$psql" -X -q -t -A -d "$url" -c 'select rolcreatedb or rolsuper from pg_roles where rolname = current_user')" != t ]]; then
        die "the PostgreSQL user in $url may not create databases; the tests need CREATEDB"
    fi
}

pg_start_machine_cluster() {
    local versions
    have pg_ctlcluster || return 1
    versions=$(ls /etc/postgresql 2>/dev/null) || return 1
    [[ -n "$versions" && "$versions" != *$'\n'* ]] || return 1
    log "PostgreSQL is not answering on $PG_HOST:$PG_PORT; starting the machine's cluster ($versions/main)"
    pg_ctlcluster --skip-systemctl-redirect "$versions" main start >&2 || return 1
    local deadline=$((SECONDS + 30))
    until pg_answers "$PG_HOST" "$PG_PORT"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
}

# Starts a private cluster in a temporary directory on a free port; stopped and removed on exit.
# fsync stays on (the server default); only initdb's own final sync is skipped.
pg_start_throwaway_cluster() {
    local initdb pg_ctl dir port
    initdb=$(pg_binary initdb) && pg_ctl=$(pg_binary pg_ctl) || return 1
    if ((EUID == 0)) && ! id "$SERVICE_USER" >/dev/null 2>&1; then
        warn "running as root and there is no '$SERVICE_USER' user to run PostgreSQL as"
        return 1
    fi
    dir=$(mktemp -d "${TMPDIR:-/tmp}/tickler-pg.XXXXXX")
    ((EUID != 0)) || chown "$SERVICE_USER" "$dir"
    port=$(free_port)
    log "starting a throwaway PostgreSQL cluster in $dir on port $port"
    as_service_user "$initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; return 1; }
    on_exit "as_service_user '$pg_ctl' -D '$dir/data' -m fast -w stop >/dev/null 2>&1; rm -rf '$dir'"
    as_service_user "$pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-h $PG_HOST -p $port -k $dir -c max_connections=200" start >/dev/null ||
        { cat "$dir/server.log" >&2; return 1; }
    PG_PORT=$port
}

pg_install_server() {
    ((EUID == 0)) && have apt-get || return 1
    log "no PostgreSQL server binaries found; installing Debian's postgresql"
    apt_install postgresql
}

ensure_postgres() {
    if [[ -n "${TICKLER_TEST_DATABASE_URL:-}" ]]; then
        log "using TICKLER_TEST_DATABASE_URL from the environment"
        pg_check_url "$TICKLER_TEST_DATABASE_URL"
        return 0
    fi
    if ! pg_answers "$PG_HOST" "$PG_PORT" &&
        ! pg_start_machine_cluster &&
        ! pg_start_throwaway_cluster &&
        ! { pg_install_server && pg_start_throwaway_cluster; }; then
        die "no PostgreSQL: nothing answers on $PG_HOST:5432, pg_ctlcluster could not start one, and initdb/pg_ctl (Debian package postgresql) are missing or failed. Install PostgreSQL or set TICKLER_TEST_DATABASE_URL"
    fi
    export TICKLER_TEST_DATABASE_URL="postgres://postgres@$PG_HOST:$PG_PORT/postgres"
    pg_check_url "$TICKLER_TEST_DATABASE_URL"
    log "PostgreSQL: $TICKLER_TEST_DATABASE_URL"
}
