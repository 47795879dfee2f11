# S3 test server: moto in server mode, in the private tools environment.
#
# up:   install moto[server] (with uv, into the tools venv) when missing, start
#       it on 127.0.0.1:PORT, wait until GET /moto-api/ is 200. It runs through
#       _s3_moto.py, which is `moto_server -H 127.0.0.1 -p PORT` with requests
#       handled one at a time (moto's S3 model is not thread-safe; see there).
# env:  STOREROOM_TEST_S3_ENDPOINT / _KEY / _SECRET / _REGION. moto accepts any
#       credentials, so fixed dummy ones are printed. No bucket is created here:
#       the tests create the buckets they use (tests/service_targets/s3.py makes
#       one bucket per test session), so a restarted, empty moto needs no setup.
# down: stop the server (its state is in memory and is lost).

_s3_moto() { printf '%s' "$(dirname "$(tools_python)")/moto_server"; }

svc_s3_up() {
    local port dir
    port="$(svc_port s3)"
    dir="$(svc_dir s3)"
    if [ ! -x "$(_s3_moto)" ]; then
        log "s3: installing moto[server] into the tools environment"
        tools_pip "moto[server]>=5.0"
    fi
    if ! pidfile_alive s3; then
        log "s3: starting moto on 127.0.0.1:$port"
        start_bg s3 "$dir/moto.log" "$(tools_python)" \
            "$SERVICES_ROOT/scripts/services.d/_s3_moto.py" -H 127.0.0.1 -p "$port"
    fi
    wait_http "http://127.0.0.1:$port/moto-api/" 60
}

svc_s3_env() {
    echo "export STOREROOM_TEST_S3_ENDPOINT=http://127.0.0.1:$(svc_port s3)"
    echo "export STOREROOM_TEST_S3_KEY=storeroom-test-key"
    echo "export STOREROOM_TEST_S3_SECRET=storeroom-test-secret"
    echo "export STOREROOM_TEST_S3_REGION=us-east-1"
}

svc_s3_down() {
    stop_pid s3
}
