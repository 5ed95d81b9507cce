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

use_from_path pulumi "$PULUMI_VERSION" version ||
go_build pulumi "$PULUMI_VERSION" "$here/cli" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
    -tags osusergo,grpcnotrace -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"

# The language host of sdk/v3 v3.68.0 takes the project's runtime options (typescript, ...) only as flags,
# which today's CLIs no longer pass (they send them in the run request, a field 3.68 does not know), so it
# would always run programs through ts-node. Built from a copy of its package with one change: Run reads
# `typescript` from the program's Pulumi.yaml, as current hosts do (Pulumi.yaml here: typescript: false).
host=pulumi-language-nodejs
cached="$TOOLCHAIN_CACHE/$host-$PULUMI_LANGUAGE_NODEJS_BUILD/$host"
t0=$SECONDS
if [ ! -x "$cached" ]; then
    command -v go >/dev/null || die "$host: Go is needed to build it"
    log "$host $PULUMI_LANGUAGE_NODEJS_BUILD: building (minutes on a cold Go cache)"
    dir="$TOOLCHAIN_CACHE/$host-$PULUMI_LANGUAGE_NODEJS_BUILD"
    work="$dir/src"
    rm -rf "$work" && mkdir -p "$work"
    cp "$here/language-nodejs/go.mod" "$here/language-nodejs/go.sum" "$work/"
    progress_run "$host $PULUMI_LANGUAGE_NODEJS_BUILD" "fetching its package" "$dir/list.log" \
        in_dir "$work" GOFLAGS=-mod=mod go list -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs \
        || die "$host: go list of its package"
    src=$(tail -n 1 "$dir/list.log")
    [ -d "$src" ] || die "$host: go list printed no folder (log: $dir/list.log)"
    find "$src" -maxdepth 1 -name '*.go' ! -name '*_test.go' -exec cp {} "$work/" \;
    chmod -R u+w "$work"
    grep -q 'if host.typescript {' "$work/main.go" || die "$host: main.go is not the one this patch expects"
    sed -i 's/if host.typescript {/if host.typescriptFor(req) {/' "$work/main.go"
    cat >"$work/typescript_option.go" <<'GO'
package main

import (
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/common/encoding"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// typescriptFor is the program's `runtime.options.typescript` from its Pulumi.yaml (eks-nginx toolchain
// patch), or the -typescript flag (default true) when the project sets none. Only `runtime` is read: this
// release's project schema would refuse keys that newer CLIs accept.
func (host *nodeLanguageHost) typescriptFor(req *pulumirpc.RunRequest) bool {
	path, err := workspace.DetectProjectPathFrom(req.GetPwd())
	if err != nil {
		return host.typescript
	}
	m, _ := encoding.Detect(path)
	b, err := os.ReadFile(path)
	if m == nil || err != nil {
		return host.typescript
	}
	var proj struct {
		Runtime workspace.ProjectRuntimeInfo `json:"runtime" yaml:"runtime"`
	}
	if m.Unmarshal(b, &proj) != nil {
		return host.typescript
	}
	if v, ok := proj.Runtime.Options()["typescript"].(bool); ok {
		return v
	}
	return host.typescript
}
GO
    progress_run "$host $PULUMI_LANGUAGE_NODEJS_BUILD" building "$dir/build.log" \
        in_dir "$work" CGO_ENABLED=0 GOFLAGS=-mod=mod go build -v -trimpath -o "$cached.tmp" \
        -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_LANGUAGE_NODEJS_VERSION" . \
        || die "$host: go build"
    mv "$cached.tmp" "$cached"
    rm -rf "$work"
fi
rm -f "$TOOLCHAIN_BIN/$host"
install -m 0755 "$cached" "$TOOLCHAIN_BIN/$host"
log "$host $PULUMI_LANGUAGE_NODEJS_BUILD: ready in $((SECONDS - t0))s"

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
    progress_run "$provider $KUBERNETES_PROVIDER_VERSION" "generating the schema" "$dir/generate.log" \
        in_dir "$work/cmd/$provider" VERSION="$KUBERNETES_PROVIDER_VERSION" GOFLAGS=-mod=mod go run -v generate.go \
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
