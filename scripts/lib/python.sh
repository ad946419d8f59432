# shellcheck shell=bash
# The Python test peers' virtualenv (Kafka client, SMTP sink, webhook verifier, MCP client, ...).
# Exports TICKLER_TEST_PYTHON, and TICKLER_TEST_ICAL_PYTHON for the calendar feed checks.
# Sourced by scripts/test after common.sh.
#
# The virtualenv lives in the cache directory under a name derived from the requirements file and
# the interpreter's version, so editing scripts/test-requirements.txt makes a fresh one. A marker
# file written after a successful install tells a finished virtualenv from an interrupted one.

# ensure_python_venv REQUIREMENTS [VARIABLE]: exports VARIABLE (TICKLER_TEST_PYTHON by default)
# naming the interpreter of the virtualenv built from REQUIREMENTS. Peers whose pins conflict
# with the main set get a requirements file, and so a virtualenv, of their own.
ensure_python_venv() {
    local requirements="$1" variable="${2:-TICKLER_TEST_PYTHON}" python key venv
    python=$(command -v python3) || die "python3 is missing (the test peers need Python 3.11)"
    key=$({ cat "$requirements"; "$python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -c1-12)
    venv="$TICKLER_CACHE_DIR/venv-$key"
    mkdir -p "$TICKLER_CACHE_DIR"
    exec {venv_lock_fd}>"$venv.lock"
    flock "$venv_lock_fd"
    if [[ ! -e "$venv/.installed" ]]; then
        log "creating the Python test virtualenv $venv"
        rm -rf "$venv"
        "$python" -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            --requirement "$requirements" || die "installing $requirements into $venv failed"
        touch "$venv/.installed"
    fi
    exec {venv_lock_fd}>&-
    export "$variable=$venv/bin/python"
    log "Python test peers ($(basename "$requirements")): $venv/bin/python"
}

# Produces and consumes one keyed record through the running broker with the peers' Kafka client.
kafka_smoke_test() {
    "$TICKLER_TEST_PYTHON" "$SCRIPTS_DIR/lib/kafka-smoke.py" "$TICKLER_TEST_KAFKA_BROKERS" ||
        die "the Python Kafka client could not round-trip a record through tansu at $TICKLER_TEST_KAFKA_BROKERS${TANSU_LOG:+ (broker log: $TANSU_LOG)}"
}
