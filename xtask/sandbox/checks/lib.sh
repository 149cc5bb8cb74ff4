# shellcheck shell=bash
# checks/lib.sh: sourced by the other checks (they run inside the sandbox, this folder
# copied next to them). Reads no environment.

# check WHAT CMD [ARGS...]: runs CMD and prints "ok|fail<TAB>WHAT<TAB>what it said" on one
# line, the way the caller (xtask/src/local.rs) reads a checklist.
check() {
    local what="$1" detail
    shift
    if detail="$("$@" 2>&1)"; then
        printf 'ok\t%s\t%s\n' "$what" "${detail//$'\n'/ }"
    else
        printf 'fail\t%s\t%s\n' "$what" "${detail//$'\n'/ }"
    fi
}
