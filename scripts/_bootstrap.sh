# shellcheck shell=bash
# Shared by scripts/run, scripts/test and .ci/run (sourced, not run): puts the project in a
# virtual environment at .venv and puts that environment first on PATH.
#
#   source scripts/_bootstrap.sh
#   dcc_bootstrap [EXTRAS]     # EXTRAS: "" for the service, "dev" for tests and linters
#
# Needs only python3 (3.11+; set PYTHON to use another). The environment is recreated when the
# interpreter changed, and the project reinstalled when pyproject.toml is newer than the stamp
# of the same extras (.venv/.installed, .venv/.installed-dev).

DCC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DCC_VENV="$DCC_ROOT/.venv"

# Note: these functions run where `set -e` does not apply (inside `a && b || c`), so each step
# that can fail returns by itself.

_dcc_say() { printf '[bootstrap] %s\n' "$*" >&2; }

# The interpreter's identity: a different one means a new environment.
_dcc_python_id() {
    "$1" -c 'import os, sys; print(os.path.realpath(sys.executable), sys.version.split()[0])'
}

_dcc_make_venv() {
    local python="${PYTHON:-python3}" want have=""
    if ! command -v "$python" >/dev/null 2>&1; then
        _dcc_say "$python not found; install Python 3.11 or newer"
        return 1
    fi
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        _dcc_say "$python is $("$python" -V 2>&1); DCC needs Python 3.11 or newer"
        return 1
    fi
    want="$(_dcc_python_id "$python")"
    [[ -f "$DCC_VENV/.python" ]] && have="$(cat "$DCC_VENV/.python")"
    if [[ -x "$DCC_VENV/bin/python" && "$have" == "$want" ]] \
        && "$DCC_VENV/bin/python" -c '' 2>/dev/null; then
        return 0
    fi
    if [[ -e "$DCC_VENV" ]]; then
        _dcc_say "recreating .venv (python changed: ${have:-unknown} -> $want)"
        rm -rf "$DCC_VENV"
    else
        _dcc_say "creating .venv with $want"
    fi
    "$python" -m venv "$DCC_VENV" || return 1
    # Create the identity file last: a half-made environment is made again next time.
    printf '%s\n' "$want" >"$DCC_VENV/.python" || return 1
}

_dcc_install() {
    local extras="$1" stamp="$DCC_VENV/.installed" target="."
    if [[ -n "$extras" ]]; then
        stamp="$DCC_VENV/.installed-$extras"
        target=".[$extras]"
    fi
    if [[ -f "$stamp" && ! "$DCC_ROOT/pyproject.toml" -nt "$stamp" ]]; then
        return 0
    fi
    _dcc_say "installing the project ($target) into .venv"
    (cd "$DCC_ROOT" && "$DCC_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        -e "$target") || return 1
    touch "$stamp" || return 1
    # The extras include the base install.
    [[ -n "$extras" ]] && touch "$DCC_VENV/.installed"
    return 0
}

dcc_bootstrap() {
    local extras="${1:-}" lock status=0
    # One bootstrap at a time per checkout (scripts may start side by side).
    lock="${TMPDIR:-/tmp}/dcc-bootstrap-$(printf '%s' "$DCC_ROOT" | cksum | cut -d' ' -f1).lock"
    if command -v flock >/dev/null 2>&1; then
        exec {_dcc_lock_fd}>"$lock"
        flock "$_dcc_lock_fd"
    fi
    _dcc_make_venv && _dcc_install "$extras" || status=$?
    if [[ -n "${_dcc_lock_fd:-}" ]]; then
        # Close the lock, so that a process exec'd afterwards does not hold it.
        exec {_dcc_lock_fd}>&-
        unset _dcc_lock_fd
    fi
    [[ $status -eq 0 ]] || return "$status"
    export VIRTUAL_ENV="$DCC_VENV"
    export PATH="$DCC_VENV/bin:$PATH"
    unset PYTHONHOME
    hash -r
}
