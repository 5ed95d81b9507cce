# Packs a root filesystem into an OCI image archive that `ctr images import` takes (sourced).
# Deterministic: entries sorted, every mtime 0, owner root, no compression and no creation time, so the same
# files give the same digests.
# shellcheck shell=bash

# reproducible_tar DIR OUT [ENTRIES...]: a tar of DIR (or of ENTRIES in it) with no varying metadata.
reproducible_tar() {
    local dir=$1 out=$2
    shift 2
    [ $# -gt 0 ] || set -- .
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu -C "$dir" -cf "$out" "$@"
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
size_of() { stat -c %s "$1"; }

# oci_archive ROOTFS REF OUT CONFIG: ROOTFS as the one layer of image REF (registry/name:tag), written to OUT.
# CONFIG is the JSON body of the image config's "config" object (Entrypoint, Cmd, Env, StopSignal, ...).
oci_archive() {
    local rootfs=$1 ref=$2 out=$3 config=$4
    local layout
    layout=$(mktemp -d)
    mkdir -p "$layout/blobs/sha256"
    reproducible_tar "$rootfs" "$layout/layer.tar"
    local layer_digest layer_size
    layer_digest=$(sha256_of "$layout/layer.tar")
    layer_size=$(size_of "$layout/layer.tar")
    mv "$layout/layer.tar" "$layout/blobs/sha256/$layer_digest"

    printf '{"architecture":"amd64","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
        "$config" "$layer_digest" >"$layout/config.json"
    local config_digest config_size
    config_digest=$(sha256_of "$layout/config.json")
    config_size=$(size_of "$layout/config.json")
    mv "$layout/config.json" "$layout/blobs/sha256/$config_digest"

    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
        "$config_digest" "$config_size" "$layer_digest" "$layer_size" >"$layout/manifest.json"
    local manifest_digest manifest_size
    manifest_digest=$(sha256_of "$layout/manifest.json")
    manifest_size=$(size_of "$layout/manifest.json")
    mv "$layout/manifest.json" "$layout/blobs/sha256/$manifest_digest"

    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
        "$manifest_digest" "$manifest_size" "$ref" "${ref##*:}" >"$layout/index.json"
    printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
    reproducible_tar "$layout" "$out" oci-layout index.json blobs
    rm -rf "$layout"
    echo "sha256:$manifest_digest"
}
