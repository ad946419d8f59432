# shellcheck shell=bash
# Checks of what ships beside the code: the binary the deploy/ checks ask for its roles,
# cargo doc with warnings denied, and cargo-deny (licences, bans, sources, advisories).
# Sourced by scripts/test after common.sh.

CARGO_DENY_VERSION=0.20.2
CARGO_DENY_ROOT="$TICKLER_CACHE_DIR/cargo-deny-$CARGO_DENY_VERSION"

# The debug binary with the features nextest builds it with, so that nextest reuses it.
build_tickler_binary() {
    cargo build --workspace --all-features --bin tickler
    export TICKLER_BIN="$ROOT/target/debug/tickler"
    [[ -x "$TICKLER_BIN" ]] || die "cargo build did not produce $TICKLER_BIN"
}

cargo_doc() {
    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps --quiet
}

# Builds cargo-deny once per machine into the cache (a few minutes on 2 cores), under a lock.
ensure_cargo_deny() {
    local binary="$CARGO_DENY_ROOT/bin/cargo-deny"
    if [[ ! -x "$binary" ]]; then
        mkdir -p "$TICKLER_CACHE_DIR"
        exec {deny_lock_fd}>"$CARGO_DENY_ROOT.lock"
        flock "$deny_lock_fd"
        if [[ ! -x "$binary" ]]; then
            log "building cargo-deny $CARGO_DENY_VERSION (once per machine; log: $TICKLER_CACHE_DIR/cargo-deny-build.log)"
            cargo install cargo-deny --locked --version "$CARGO_DENY_VERSION" --root "$CARGO_DENY_ROOT" \
                >"$TICKLER_CACHE_DIR/cargo-deny-build.log" 2>&1 ||
                { tail -n 30 "$TICKLER_CACHE_DIR/cargo-deny-build.log" >&2; die "building cargo-deny failed"; }
        fi
        exec {deny_lock_fd}>&-
    fi
    CARGO_DENY="$binary"
}

# Licences, bans and sources need nothing but Cargo.lock. Advisories need the RustSec database,
# fetched from GitHub: where it cannot be fetched (the project's own machines reach only the
# package registries) the run says so and goes on, unless TICKLER_REQUIRE_ADVISORIES=1 (set in
# the GitHub workflows, which reach it).
cargo_deny() {
    ensure_cargo_deny
    "$CARGO_DENY" --log-level error check licenses bans sources || return 1
    if "$CARGO_DENY" --log-level error fetch db >/dev/null 2>&1; then
        "$CARGO_DENY" --log-level error check --disable-fetch advisories
    elif [[ "${TICKLER_REQUIRE_ADVISORIES:-0}" == 1 ]]; then
        warn "cannot fetch the RustSec advisory database"
        return 1
    else
        warn "advisories NOT checked: the RustSec advisory database (GitHub) is unreachable from here"
    fi
}
