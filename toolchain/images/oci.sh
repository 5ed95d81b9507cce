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

# blob LAYOUT FILE: moves FILE into LAYOUT's blobs under its digest; prints "<digest> <size>".
blob() {
    local digest size
    digest=$(sha256sum "$2" | cut -d' ' -f1)
    size=$(stat -c %s "$2")
    mv "$2" "$1/blobs/sha256/$digest"
    echo "$digest $size"
}

# oci_archive ROOTFS REF OUT CONFIG: ROOTFS as the one layer of image REF (registry/name:tag), written to OUT.
# CONFIG is the JSON body of the image config's "config" object (Entrypoint, Cmd, Env, StopSignal, ...).
oci_archive() {
    local rootfs=$1 ref=$2 out=$3 config=$4
    local layout="$out.layout"
    rm -rf "$layout" && mkdir -p "$layout/blobs/sha256"
    reproducible_tar "$rootfs" "$layout/layer.tar"
    local layer_digest layer_size config_digest config_size manifest_digest manifest_size
    read -r layer_digest layer_size <<<"$(blob "$layout" "$layout/layer.tar")"

    printf '{"architecture":"amd64","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
        "$config" "$layer_digest" >"$layout/config.json"
    read -r config_digest config_size <<<"$(blob "$layout" "$layout/config.json")"

    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
        "$config_digest" "$config_size" "$layer_digest" "$layer_size" >"$layout/manifest.json"
    read -r manifest_digest manifest_size <<<"$(blob "$layout" "$layout/manifest.json")"

    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
        "$manifest_digest" "$manifest_size" "$ref" "${ref##*:}" >"$layout/index.json"
    printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
    reproducible_tar "$layout" "$out" oci-layout index.json blobs
    rm -rf "$layout"
    echo "sha256:$manifest_digest"
}
