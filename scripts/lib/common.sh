# shellcheck shell=bash
# Shared helpers for scripts/test and the service helpers beside this file.
# Sourced, not executed: it defines functions and sets no options of its own.

# Where builds, virtualenvs and other reusable artefacts live between runs.
TICKLER_CACHE_DIR="${TICKLER_CACHE_DIR:-$HOME/.cache/tickler}"

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

have() { command -v "$1" >/dev/null 2>&1; }

# Prints a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Succeeds once something accepts TCP connections on HOST:PORT, within TIMEOUT seconds.
wait_for_port() {
    local host="$1" port="$2" timeout="${3:-30}" deadline
    deadline=$((SECONDS + timeout))
    while ((SECONDS < deadline)); do
        if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    return 1
}

# Cleanup actions run in reverse order when the test command exits, however it exits.
CLEANUP_ACTIONS=()
on_exit() { CLEANUP_ACTIONS+=("$1"); }
run_cleanup() {
    local i
    for ((i = ${#CLEANUP_ACTIONS[@]} - 1; i >= 0; i--)); do
        eval "${CLEANUP_ACTIONS[i]}" || true
    done
    CLEANUP_ACTIONS=()
}

# Phase timing. `phase NAME FUNCTION...` runs a set-up step: a failure stops the run (errexit
# stays in force inside it) and the exit trap records it. `check NAME COMMAND...` runs a check:
# a failure is recorded and the run goes on, so one report shows every failing check.
PHASE_NAMES=()
PHASE_SECONDS=()
PHASE_RESULTS=()
CURRENT_PHASE=""
CURRENT_PHASE_STARTED=0
FAILED_CHECKS=0

record_phase() {
    PHASE_NAMES+=("$CURRENT_PHASE")
    PHASE_SECONDS+=($((SECONDS - CURRENT_PHASE_STARTED)))
    PHASE_RESULTS+=("$1")
    CURRENT_PHASE=""
}

start_phase() {
    CURRENT_PHASE="$1"
    CURRENT_PHASE_STARTED=$SECONDS
    log "$1"
}

phase() {
    start_phase "$1"
    shift
    "$@"
    record_phase ok
}

check() {
    local status=0
    start_phase "$1"
    shift
    "$@" || status=$?
    if ((status == 0)); then
        record_phase ok
    else
        record_phase "FAILED (exit $status)"
        FAILED_CHECKS=$((FAILED_CHECKS + 1))
    fi
}

print_phase_summary() {
    if [[ -n "$CURRENT_PHASE" ]]; then record_phase "FAILED"; fi
    ((${#PHASE_NAMES[@]} > 0)) || return 0
    local i total=0
    printf '\n%-28s %8s  %s\n' phase seconds result >&2
    for i in "${!PHASE_NAMES[@]}"; do
        printf '%-28s %8d  %s\n' "${PHASE_NAMES[i]}" "${PHASE_SECONDS[i]}" "${PHASE_RESULTS[i]}" >&2
        total=$((total + PHASE_SECONDS[i]))
    done
    printf '%-28s %8d\n' total "$total" >&2
}

# Runs a command as an unprivileged user when we are root (PostgreSQL refuses to run as root).
as_service_user() {
    if ((EUID == 0)); then
        runuser -u "$SERVICE_USER" -- "$@"
    else
        "$@"
    fi
}
SERVICE_USER="${SERVICE_USER:-postgres}"

# Installs the Debian packages among PACKAGES that are not installed yet, quietly.
APT_UPDATED=0
apt_install() {
    local missing=() package
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' || missing+=("$package")
    done
    ((${#missing[@]} > 0)) || return 0
    if ((EUID != 0)) || ! have apt-get; then
        warn "missing Debian packages: ${missing[*]} (install them with apt-get as root)"
        return 0
    fi
    log "installing ${missing[*]}"
    if ((APT_UPDATED == 0)); then
        apt-get update -qq >/dev/null
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
