# shellcheck shell=bash
# The browser for the web app's end-to-end tests: Debian's chromium (Playwright drives it through
# executable_path; `playwright install` cannot download browsers here), with the Noto fonts that
# render Urdu. Exports TICKLER_TEST_CHROMIUM. Sourced by scripts/test after common.sh.

ensure_chromium() {
    apt_install chromium fonts-noto-core
    local chromium
    chromium=$(command -v chromium || true)
    [[ -n "$chromium" ]] || die "chromium is missing and could not be installed (Debian package chromium); the browser tests need it"
    export TICKLER_TEST_CHROMIUM="$chromium"
    log "chromium: $TICKLER_TEST_CHROMIUM ($("$chromium" --version 2>/dev/null | head -n 1))"
}
