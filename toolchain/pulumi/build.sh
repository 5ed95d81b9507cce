#!/usr/bin/env bash
# Builds the Pulumi CLI, its Node.js language host and the Kubernetes resource provider into
# .toolchain/bin, and installs the provider as a plugin into .toolchain/pulumi-home.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../lib.sh
source "$here/../lib.sh"
# shellcheck source=../versions.sh
source "$here/../versions.sh"

# The CLI, with the SDK's passphrase key derivation able to keep its key beside the passphrase file that
# scripts/pulumi-env.sh makes (passphrase-cache/README.md): the wrapper module's go.mod and go.sum, plus a
# replace of sdk/v3 by a patched copy of the same release, given to go build as its -modfile. Cached by the
# hash of the patch and its files.
cli_patch="$here/passphrase-cache"
cli_build="$PULUMI_VERSION-$(cat "$cli_patch/crypt.patch" "$cli_patch"/*.go | sha256sum | cut -c1-12)"
cli_dir="$TOOLCHAIN_CACHE/pulumi-$cli_build"
if ! use_from_path pulumi "$PULUMI_VERSION" version; then
    if [ ! -x "$cli_dir/pulumi" ]; then
        command -v go >/dev/null || die "pulumi $cli_build: Go is needed to build it"
        sdk=$(in_dir "$here/cli" GOFLAGS=-mod=mod go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3) ||
            die "pulumi $cli_build: go list -m github.com/pulumi/pulumi/sdk/v3 in $here/cli"
        rm -rf "$cli_dir/sdk" && mkdir -p "$cli_dir" && cp -r "$sdk" "$cli_dir/sdk" && chmod -R u+w "$cli_dir/sdk"
        config="$cli_dir/sdk/go/common/resource/config"
        patch -d "$config" -p1 --quiet --no-backup-if-mismatch <"$cli_patch/crypt.patch" ||
            die "pulumi $cli_build: passphrase-cache/crypt.patch does not apply to $config/crypt.go"
        cp "$cli_patch"/*.go "$config/"
        { cat "$here/cli/go.mod"; printf '\nreplace github.com/pulumi/pulumi/sdk/v3 => %s\n' "$cli_dir/sdk"; } >"$cli_dir/cli.mod"
        cp "$here/cli/go.sum" "$cli_dir/cli.sum"
        # key_cache_test.go: the key is kept only where it adds nothing to read, and decrypts what PBKDF2's did.
        progress_run "pulumi $cli_build" "testing the passphrase key cache" "$cli_dir/test.log" \
            in_dir "$here/cli" CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" go test -modfile "$cli_dir/cli.mod" -trimpath \
            -count=1 -run TestPassphrase github.com/pulumi/pulumi/sdk/v3/go/common/resource/config \
            || die "pulumi $cli_build: go test of the passphrase key cache"
    fi
    go_build pulumi "$cli_build" "$here/cli" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi -modfile "$cli_dir/cli.mod" \
        -tags osusergo,grpcnotrace -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
    rm -rf "$cli_dir/sdk"
fi

# The Node.js language host. The proxy serves no release of its own module; its last release as a package is
# sdk/v3 v3.68.0's, which today's CLIs cannot use as it is: it reads the runtime options (typescript, ...)
# only from flags, which they no longer pass, and it cannot run a policy pack (RunPlugin: "not supported"),
# which CLIs since 3.221 start through the language host its PulumiPolicy.yaml names. So it is built from a
# copy of that package, patched (language-nodejs/host.patch) and with three files added (run_plugin.go,
# runtime_options.go, run_path.go; run_path_test.go is run after the build), against sdk/v3 of the CLI's
# own release (language-nodejs/go.mod), whose protocol has the fields RunPlugin needs and whose policy
# proxy it uses. Its monitor proxy (proxy*.go) is left out:
# the patched Run hands the program the engine's own monitor (host.patch says why). Cached by the hash of
# those files.
host=pulumi-language-nodejs
patches="$here/language-nodejs"
grep -qE "^[[:space:]]*(require )?github.com/pulumi/pulumi/sdk/v3 v$PULUMI_VERSION\$" "$patches/go.mod" ||
    die "$host: language-nodejs/go.mod must require sdk/v3 v$PULUMI_VERSION, the CLI's release"
build="$PULUMI_LANGUAGE_NODEJS_VERSION-$(cat "$patches/go.mod" "$patches/go.sum" "$patches/host.patch" "$patches"/*.go | sha256sum | cut -c1-12)"
dir="$TOOLCHAIN_CACHE/$host-$build"
cached="$dir/$host"
t0=$SECONDS
if [ ! -x "$cached" ]; then
    command -v go >/dev/null || die "$host: Go is needed to build it"
    command -v patch >/dev/null || apt_install patch   # Debian priority optional: not on every machine
    log "$host $build: building (minutes on a cold Go cache)"
    sdk=github.com/pulumi/pulumi/sdk/v3@v$PULUMI_LANGUAGE_NODEJS_VERSION
    progress_run "$host $build" "fetching $sdk" "$dir/download.log" \
        in_dir "$TOOLCHAIN_CACHE" GOFLAGS=-mod=mod go mod download -json "$sdk" || die "$host: go mod download $sdk"
    src=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' "$dir/download.log")/nodejs/cmd/$host
    [ -f "$src/main.go" ] || die "$host: $src/main.go not found after download (log: $dir/download.log)"
    work="$dir/src"
    rm -rf "$work" && mkdir -p "$work"
    find "$src" -maxdepth 1 -name '*.go' ! -name '*_test.go' ! -name 'proxy*.go' -exec cp {} "$work/" \;
    chmod -R u+w "$work"
    patch -d "$work" -p1 --quiet --no-backup-if-mismatch <"$patches/host.patch" ||
        die "$host: language-nodejs/host.patch does not apply to $src"
    cp "$patches/go.mod" "$patches/go.sum" "$patches"/*.go "$work/"
    progress_run "$host $build" building "$dir/build.log" \
        in_dir "$work" CGO_ENABLED=0 GOFLAGS=-mod=mod go build -v -trimpath -o "$cached.tmp" \
        -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_LANGUAGE_NODEJS_VERSION" . \
        || die "$host: go build"
    # run_path_test.go: the run path found without Node.js is the one Node.js finds (node on PATH: npm's).
    progress_run "$host $build" testing "$dir/test.log" \
        in_dir "$work" CGO_ENABLED=0 GOFLAGS=-mod=mod go test -trimpath -count=1 . \
        || die "$host: go test"
    mv "$cached.tmp" "$cached"
    rm -rf "$work"
fi
rm -f "$TOOLCHAIN_BIN/$host"
install -m 0755 "$cached" "$TOOLCHAIN_BIN/$host"
log "$host $build: ready in $((SECONDS - t0))s"

# The provider's main embeds schema-embed.json and terraform-mapping-embed.json, which its go:generate
# step writes and its module zip lacks: build from a writable copy of the module source.
provider=pulumi-resource-kubernetes
cached="$TOOLCHAIN_CACHE/$provider-$KUBERNETES_PROVIDER_VERSION/$provider"
t0=$SECONDS
if [ ! -x "$cached" ]; then
    module=github.com/pulumi/pulumi-kubernetes/provider/v4
    command -v go >/dev/null || die "$provider: Go is needed to build it"
    dir="$TOOLCHAIN_CACHE/$provider-$KUBERNETES_PROVIDER_VERSION"
    log "$provider $KUBERNETES_PROVIDER_VERSION: fetching $module@$KUBERNETES_PROVIDER_MODULE_VERSION"
    progress_run "$provider $KUBERNETES_PROVIDER_VERSION" fetching "$dir/download.log" \
        in_dir "$TOOLCHAIN_CACHE" GOFLAGS=-mod=mod go mod download -json "$module@$KUBERNETES_PROVIDER_MODULE_VERSION" \
        || die "$provider: go mod download"
    src=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' "$dir/download.log")
    [ -d "$src" ] || die "$provider: module source not found after download (log: $dir/download.log)"
    work="$dir/src"
    rm -rf "$work" && mkdir -p "$(dirname "$work")" && cp -r "$src" "$work" && chmod -R u+w "$work"
    # Its go.mod points sdk/v4 at ../sdk (a monorepo path); use the published SDK of the same release.
    sed -i '/=> \.\.\/sdk/d; s|\(github.com/pulumi/pulumi-kubernetes/sdk/v4\) v[0-9.]*|\1 v'"$KUBERNETES_PROVIDER_VERSION"'|' "$work/go.mod"
    log "$provider $KUBERNETES_PROVIDER_VERSION: generating the embedded schema"
    # Built with the provider's own flags (CGO_ENABLED=0, -trimpath): Go's cache keys a compiled package by
    # them, so the 631 packages generate.go imports (all of them the provider's too) are compiled once, not
    # twice.
    progress_run "$provider $KUBERNETES_PROVIDER_VERSION" "generating the schema" "$dir/generate.log" \
        in_dir "$work/cmd/$provider" VERSION="$KUBERNETES_PROVIDER_VERSION" CGO_ENABLED=0 GOFLAGS=-mod=mod \
        go run -v -trimpath generate.go \
        || die "$provider: go generate (schema-embed.json)"
    log "$provider $KUBERNETES_PROVIDER_VERSION: building (minutes on a cold Go cache)"
    progress_run "$provider $KUBERNETES_PROVIDER_VERSION" building "$dir/build.log" \
        in_dir "$work" CGO_ENABLED=0 GOFLAGS=-mod=mod go build -v -trimpath -o "$cached.tmp" \
        -ldflags "-s -w -X $module/pkg/version.Version=$KUBERNETES_PROVIDER_VERSION" "./cmd/$provider" \
        || die "$provider: go build"
    mv "$cached.tmp" "$cached"
    rm -rf "$work"
fi
install -m 0755 "$cached" "$TOOLCHAIN_BIN/$provider"
log "$provider $KUBERNETES_PROVIDER_VERSION: ready in $((SECONDS - t0))s"

# The CLI looks plugins up by exact version in $PULUMI_HOME/plugins.
export PULUMI_HOME="$TOOLCHAIN_REPO/.toolchain/pulumi-home"
if [ ! -x "$PULUMI_HOME/plugins/resource-kubernetes-v$KUBERNETES_PROVIDER_VERSION/$provider" ]; then
    PULUMI_SKIP_UPDATE_CHECK=true "$TOOLCHAIN_BIN/pulumi" plugin install resource kubernetes \
        "$KUBERNETES_PROVIDER_VERSION" --file "$TOOLCHAIN_BIN/$provider" >/dev/null \
        || die "pulumi plugin install resource kubernetes $KUBERNETES_PROVIDER_VERSION"
fi
log "kubernetes plugin $KUBERNETES_PROVIDER_VERSION installed in .toolchain/pulumi-home"
