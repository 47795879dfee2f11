# Azure test server: Azurite (Blob API only), pinned, installed from npm into
# the state directory. Data lives in memory: a restart starts empty.
# Azurite 3.36+ needs node >= 21, so the version is pinned to 3.35.0.

AZURITE_VERSION="3.35.0"
# The well-known development account of the Azure storage emulators (public,
# documented by Microsoft; not a secret).
AZURITE_ACCOUNT="devstoreaccount1"
AZURITE_KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

_azurite_bin() { printf '%s' "$(svc_dir azure)/node_modules/.bin/azurite-blob"; }

svc_azure_up() {
    local dir port bin
    dir="$(svc_dir azure)"
    port="$(svc_port azure)"
    bin="$(_azurite_bin)"
    command -v npm >/dev/null 2>&1 || die "azure: npm (node >= 18) is required to install Azurite"
    if [ ! -x "$bin" ] || ! grep -q "\"version\": \"$AZURITE_VERSION\"" \
        "$dir/node_modules/azurite/package.json" 2>/dev/null; then
        log "azure: installing azurite@$AZURITE_VERSION into $dir"
        npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
            "azurite@$AZURITE_VERSION" >&2
    fi
    if pidfile_alive azure; then
        log "azure: already running on port $port"
    else
        # Azurite refuses --location together with --inMemoryPersistence; run
        # it from the state directory so anything it writes lands there.
        (cd "$dir" && start_bg azure "$dir/azurite.log" "$bin" \
            --blobHost 127.0.0.1 --blobPort "$port" \
            --inMemoryPersistence --skipApiVersionCheck --loose --disableTelemetry)
    fi
    wait_port "$port" 60
}

svc_azure_env() {
    local port
    port="$(svc_port azure)"
    printf 'export STOREROOM_TEST_AZURE_CONNECTION_STRING="%s"\n' \
        "DefaultEndpointsProtocol=http;AccountName=$AZURITE_ACCOUNT;AccountKey=$AZURITE_KEY;BlobEndpoint=http://127.0.0.1:$port/$AZURITE_ACCOUNT;"
}

svc_azure_down() {
    stop_pid azure
}
