# Shared helpers for scripts/services and the per-service files beside it.
# A service file <name>.sh defines three functions (dashes in <name> become
# underscores): svc_<name>_up (install if missing, start if not running, wait
# until ready; progress on stderr only), svc_<name>_env (print `export ...`
# lines, reading ports/paths from the state directory) and svc_<name>_down.
# State for service <name> goes under "$(svc_dir <name>)".

log() { printf '%s\n' "services: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Per-service state directory, created on demand.
svc_dir() { mkdir -p "$SERVICES_DIR/$1"; printf '%s' "$SERVICES_DIR/$1"; }

pidfile() { printf '%s' "$(svc_dir "$1")/pid"; }

# True when the PID file of service $1 names a live process.
pidfile_alive() {
    local f; f="$(pidfile "$1")"
    [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

# A TCP port for "$1" (a service or service/role), chosen free once and
# remembered in the state directory so restarts keep their address.
svc_port() {
    local f; f="$SERVICES_DIR/ports/$1"
    mkdir -p "$(dirname "$f")"
    if [ ! -s "$f" ]; then
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' >"$f"
    fi
    cat "$f"
}

# start_bg NAME LOGFILE CMD...: run CMD detached in its own session, record its PID.
start_bg() {
    local name="$1" logf="$2"; shift 2
    setsid "$@" >>"$logf" 2>&1 < /dev/null &
    echo $! >"$(pidfile "$name")"
}

# stop_pid NAME: end the recorded process and its whole session (children too).
stop_pid() {
    local f pid i; f="$(pidfile "$1")"
    [ -s "$f" ] || return 0
    pid="$(cat "$f")"
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    # Anything else still in the session (e.g. per-connection children).
    pkill -KILL -s "$pid" 2>/dev/null || true
    rm -f "$f"
}

# wait_http URL [SECONDS]: until URL answers 2xx.
wait_http() {
    local url="$1" limit="${2:-60}" i
    for i in $(seq $((limit * 10))); do
        if python3 - "$url" <<'PY' 2>/dev/null; then return 0; fi
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=1).close()
PY
        sleep 0.1
    done
    die "no answer from $url after ${limit}s"
}

# wait_port PORT [SECONDS]: until 127.0.0.1:PORT accepts a connection.
wait_port() {
    local port="$1" limit="${2:-60}" i
    for i in $(seq $((limit * 10))); do
        if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$port" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    die "nothing listening on 127.0.0.1:$port after ${limit}s"
}

# apt_install PKG...: install Debian packages that are not installed yet.
apt_install() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing Debian packages: ${missing[*]}"
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    # The package index may be missing on a fresh machine: update once, retry.
    if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; then
        $sudo apt-get update -q >&2
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
    fi
}

# ensure_test_tools: command-line tools the tests run that are not servers
# (rclone: the crypt layer is tested against the real binary).
ensure_test_tools() {
    command -v rclone >/dev/null 2>&1 || apt_install rclone
}

# A private Python environment for service tools (moto, ...), built with uv.
tools_python() {
    local venv="$SERVICES_DIR/tools-venv"
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv" >&2
        "$venv/bin/python" -m pip install -q --disable-pip-version-check uv >&2
    fi
    printf '%s' "$venv/bin/python"
}

# tools_pip SPEC...: install into the tools environment with uv.
tools_pip() {
    local py; py="$(tools_python)"
    "$(dirname "$py")/uv" pip install -q --python "$py" "$@" >&2
}
