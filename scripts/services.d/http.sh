# HTTP: storeroom's own test-only static file server (scripts/services.d/http_server.py,
# standard library only) over a fixture tree in the state directory. Nothing to install.
# STOREROOM_TEST_HTTP_URL is the server's root; the backend's base_url is <url>/files
# (see tests/service_targets/http.py); hooks live under <url>/_test and <url>/_seed.

svc_http_up() {
    local dir port
    dir="$(svc_dir http)"
    port="$(svc_port http)"
    mkdir -p "$dir/www/fixtures"
    # A small fixed tree for manual checks; tests seed their own files.
    [ -e "$dir/www/fixtures/hello.txt" ] || printf 'hello, storeroom\n' >"$dir/www/fixtures/hello.txt"
    if pidfile_alive http; then
        log "http: already running on port $port"
    else
        log "http: starting on 127.0.0.1:$port"
        start_bg http "$dir/server.log" python3 "$SERVICES_ROOT/scripts/services.d/http_server.py" \
            --root "$dir/www" --port "$port"
    fi
    wait_http "http://127.0.0.1:$port/files/fixtures/hello.txt" 30
}

svc_http_env() {
    echo "export STOREROOM_TEST_HTTP_URL=http://127.0.0.1:$(svc_port http)"
}

svc_http_down() {
    stop_pid http
}
