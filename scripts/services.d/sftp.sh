# SFTP: a private OpenSSH sshd on 127.0.0.1 serving internal-sftp to one test user.
#
# Own sshd_config, host key, client key and known_hosts live in the state
# directory. The Unix user is shared by every clone on the machine: it is
# created once, and each clone APPENDS its own public key to the user's
# authorized_keys (keys under /tmp are refused by StrictModes, so the user's
# home holds them). Each clone gets its own base folder under the user's
# home, named after a hash of its state directory, so clones never collide.

SFTP_USER="${STOREROOM_SFTP_USER:-storeroom-sftp}"

_sftp_home() { getent passwd "$SFTP_USER" | cut -d: -f6; }
_sftp_base() {
    printf '%s/data/%s' "$(_sftp_home)" "$(printf '%s' "$SERVICES_DIR" | sha256sum | cut -c1-12)"
}

# All descendants of PID $1 (children first found, deepest last).
_sftp_descendants() {
    local kid
    for kid in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        echo "$kid"
        _sftp_descendants "$kid"
    done
}

svc_sftp_up() {
    local dir port home base conf pub
    dir="$(svc_dir sftp)"
    port="$(svc_port sftp)"
    [ -x /usr/sbin/sshd ] || apt_install openssh-server
    command -v ssh-keygen >/dev/null || apt_install openssh-client
    [ -s "$dir/host_ed25519_key" ] ||
        ssh-keygen -q -t ed25519 -N '' -C storeroom-test-host -f "$dir/host_ed25519_key" >&2
    [ -s "$dir/client_key" ] ||
        ssh-keygen -q -t ed25519 -N '' -C "storeroom-test-$(hostname)" -f "$dir/client_key" >&2
    chmod 600 "$dir/host_ed25519_key" "$dir/client_key"

    # The shared test user: created once; '*' unlocks it for key logins.
    if ! getent passwd "$SFTP_USER" >/dev/null; then
        log "sftp: creating user $SFTP_USER"
        useradd -m -s /bin/sh "$SFTP_USER" 2>/dev/null || getent passwd "$SFTP_USER" >/dev/null
    fi
    usermod -p '*' "$SFTP_USER"
    home="$(_sftp_home)"
    install -d -m 700 -o "$SFTP_USER" -g "$(id -gn "$SFTP_USER")" "$home/.ssh"
    pub="$(cat "$dir/client_key.pub")"
    (
        flock 9
        touch "$home/.ssh/authorized_keys"
        grep -qxF "$pub" "$home/.ssh/authorized_keys" || printf '%s\n' "$pub" >>"$home/.ssh/authorized_keys"
    ) 9>"$home/.ssh/.storeroom.lock"
    chown "$SFTP_USER:" "$home/.ssh/authorized_keys" "$home/.ssh/.storeroom.lock"
    chmod 600 "$home/.ssh/authorized_keys"
    base="$(_sftp_base)"
    install -d -m 755 -o "$SFTP_USER" -g "$(id -gn "$SFTP_USER")" "$home/data" "$base"

    conf="$dir/sshd_config"
    cat >"$conf" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_ed25519_key
PidFile none
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
UsePAM no
AllowUsers $SFTP_USER
AllowTcpForwarding no
X11Forwarding no
PermitTTY no
Subsystem sftp internal-sftp
ForceCommand internal-sftp
MaxStartups 100:30:200
MaxSessions 100
LogLevel INFO
CONF
    # The known_hosts line clients need for strict host key checking.
    printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1-2 "$dir/host_ed25519_key.pub")" >"$dir/known_hosts"

    if pidfile_alive sftp; then
        log "sftp: sshd already running on 127.0.0.1:$port"
        return 0
    fi
    install -d -m 755 /run/sshd
    /usr/sbin/sshd -t -f "$conf" || die "sftp: sshd rejects $conf"
    start_bg sftp "$dir/sshd.log" /usr/sbin/sshd -D -e -f "$conf"
    wait_port "$port" 30
    log "sftp: sshd on 127.0.0.1:$port (log: $dir/sshd.log)"
}

svc_sftp_env() {
    local dir; dir="$(svc_dir sftp)"
    echo "export STOREROOM_TEST_SFTP_HOST=127.0.0.1"
    echo "export STOREROOM_TEST_SFTP_PORT=$(svc_port sftp)"
    echo "export STOREROOM_TEST_SFTP_USER=$SFTP_USER"
    echo "export STOREROOM_TEST_SFTP_KEY=$dir/client_key"
    echo "export STOREROOM_TEST_SFTP_BASE_PATH=$(_sftp_base)"
    echo "export STOREROOM_TEST_SFTP_KNOWN_HOSTS=$dir/known_hosts"
}

svc_sftp_down() {
    local f pid kids
    f="$(pidfile sftp)"
    if [ -s "$f" ]; then
        pid="$(cat "$f")"
        # Per-connection sshd children run in sessions of their own, so the
        # session kill in stop_pid misses them: end them by PID first.
        kids="$(_sftp_descendants "$pid")"
        [ -z "$kids" ] || kill -KILL $kids 2>/dev/null || true
    fi
    stop_pid sftp
}
