# shellcheck shell=bash
# A throwaway Kafka-compatible broker (tansu) for the test and benchmark commands.
# Exports TICKLER_TANSU_BIN and TICKLER_TEST_KAFKA_BROKERS. Sourced by scripts/test and
# scripts/bench after common.sh.
#
# tansu 0.6.0 keeps its memory engine behind the `dynostore` feature and its PostgreSQL engine
# (used by the Kafka benchmarks: the memory engine mis-numbers the records of multi-record
# batches, the PostgreSQL engine numbers them right) behind `postgres`, so the binary is built
# from crates.io once per machine (20-30 minutes on 2 cores) into the cache directory and reused.

TANSU_VERSION=0.6.0
TANSU_FEATURES=dynostore,postgres
TANSU_ROOT="$TICKLER_CACHE_DIR/tansu-$TANSU_VERSION-pg"

# Waits for a `cargo install tansu` into our cache root that some other process already runs.
tansu_wait_for_foreign_build() {
    local waited=0
    while pgrep -f "cargo install tansu .*--root $TANSU_ROOT" >/dev/null 2>&1; do
        ((waited > 0)) || log "another process is building tansu into $TANSU_ROOT; waiting for it"
        sleep 10
        waited=$((waited + 10))
    done
}

tansu_build() {
    local log_file="$TICKLER_CACHE_DIR/tansu-build.log" started=$SECONDS status=0
    log "building tansu $TANSU_VERSION with the memory and PostgreSQL engines (once per machine; 20-30 minutes on 2 cores; log: $log_file)"
    cargo install tansu --locked --version "$TANSU_VERSION" --features "$TANSU_FEATURES" \
        --root "$TANSU_ROOT" >"$log_file" 2>&1 || status=$?
    echo "exit $status" >>"$log_file"
    if ((status != 0)); then
        tail -n 30 "$log_file" >&2
        die "building tansu failed (exit $status); full log: $log_file"
    fi
    log "built tansu in $(((SECONDS - started) / 60)) min $(((SECONDS - started) % 60)) s"
}

ensure_tansu_binary() {
    local binary="$TANSU_ROOT/bin/tansu"
    if [[ -n "${TICKLER_TANSU_BIN:-}" ]]; then
        [[ -x "$TICKLER_TANSU_BIN" ]] || die "TICKLER_TANSU_BIN=$TICKLER_TANSU_BIN is not an executable"
        return 0
    fi
    mkdir -p "$TICKLER_CACHE_DIR"
    if [[ ! -x "$binary" ]]; then
        tansu_wait_for_foreign_build
        # One build per machine: a second test run waits here for the first one's build.
        exec {lock_fd}>"$TANSU_ROOT.lock"
        flock "$lock_fd"
        [[ -x "$binary" ]] || tansu_build
        exec {lock_fd}>&-
    fi
    export TICKLER_TANSU_BIN="$binary"
    log "tansu: $TICKLER_TANSU_BIN"
}

# tansu_postgres_storage BASE_URL: creates a fresh database on the PostgreSQL server of BASE_URL
# (dropped on exit) with the schema tansu's PostgreSQL engine expects (tansu-postgres.sql: the
# crate ships its schema only for SQLite) and sets TANSU_STORAGE to its URL, for `start_tansu`
# (not a command substitution: the cleanup it registers must outlive it).
tansu_postgres_storage() {
    local base="$1" name
    name="tickler_tansu_$$_$RANDOM"
    psql "$base" -qAt -c "CREATE DATABASE $name" >/dev/null || die "cannot create the database $name for tansu"
    on_exit "psql '$base' -qAt -c 'DROP DATABASE IF EXISTS $name WITH (FORCE)' >/dev/null"
    psql "${base%/*}/$name" -qAt -v ON_ERROR_STOP=1 -f "$(dirname "${BASH_SOURCE[0]}")/tansu-postgres.sql" >/dev/null ||
        die "cannot create tansu's schema in $name"
    # tansu verifies TLS when the server offers it, and a local certificate names localhost.
    TANSU_STORAGE="${base%/*}/$name?sslmode=disable"
}

# start_tansu [STORAGE_URL]: starts a broker on a free port with the given storage engine
# (default: the memory engine, `memory://tansu/`).
start_tansu() {
    local storage="${1:-memory://tansu/}" port log_dir
    port=$(free_port)
    log_dir=$(mktemp -d "${TMPDIR:-/tmp}/tickler-tansu.XXXXXX")
    # Settings a developer's environment may carry for another tansu must not reach this one.
    env -u OTEL_EXPORTER_OTLP_ENDPOINT -u SCHEMA_REGISTRY -u CLUSTER_ID "$TICKLER_TANSU_BIN" broker \
        --listener-url "tcp://127.0.0.1:$port" \
        --advertised-listener-url "tcp://127.0.0.1:$port" \
        --storage-engine "$storage" >"$log_dir/broker.log" 2>&1 &
    local pid=$!
    on_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf '$log_dir'"
    if ! wait_for_port 127.0.0.1 "$port" 30; then
        cat "$log_dir/broker.log" >&2
        die "tansu did not accept connections on 127.0.0.1:$port within 30 s"
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$log_dir/broker.log" >&2; die "tansu exited at start"; }
    export TICKLER_TEST_KAFKA_BROKERS="127.0.0.1:$port"
    TANSU_LOG="$log_dir/broker.log"
    log "tansu broker: $TICKLER_TEST_KAFKA_BROKERS, storage ${storage%%\?*} (log: $TANSU_LOG)"
}
