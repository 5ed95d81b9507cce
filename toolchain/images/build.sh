#!/usr/bin/env bash
# Images for the embedded cluster's worker node, built from Debian 12's packages (no registry that holds the
# nginx or httpd images is reachable): nginx, Apache httpd, and the pod sandbox's pause image. Each is one
# OCI archive, cached per package version and recipe in $TOOLCHAIN_CACHE/images and copied to
# .toolchain/images, which the node imports into containerd when it starts (cluster/node.sh).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# A failure inside $(...) (dpkg-deb, install, a check) must fail the build, never cache a partial image.
shopt -s inherit_errexit
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../lib.sh
source "$here/../lib.sh"
# shellcheck source=../versions.sh
source "$here/../versions.sh"
# shellcheck source=oci.sh
source "$here/oci.sh"
out_dir="$TOOLCHAIN_REPO/.toolchain/images"
cache_dir="$TOOLCHAIN_CACHE/images"
mkdir -p "$out_dir" "$cache_dir"
PATH_ENV='"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"'

# library_closure SEED...: the seed packages and, recursively, the libraries they depend on (Depends and
# Pre-Depends; the first of alternatives). Only libraries (Debian section "libs") are followed: what the
# seeds' maintainer scripts use (debconf, perl, iproute2, ...) is not needed to run the server.
library_closure() {
    local -A seen=()
    local level=("$@") p deps=() fresh=() libs=()
    for p in "$@"; do seen[$p]=1; done
    # Breadth first, one apt-cache call per level for the dependencies and one for their sections.
    while [ ${#level[@]} -gt 0 ]; do
        mapfile -t deps < <(apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks \
            --no-replaces --no-enhances "${level[@]}" 2>/dev/null | awk '
                /^ [ |](Pre)?Depends: / { if (!choice && $2 !~ /^</) print $2; choice = ($0 ~ /^ [|]/); next }
                { choice = 0 }' | sort -u)
        fresh=()
        for p in "${deps[@]}"; do [ -n "${seen[$p]:-}" ] || fresh+=("$p"); done
        libs=()
        [ ${#fresh[@]} -eq 0 ] || mapfile -t libs < <(apt-cache show --no-all-versions "${fresh[@]}" 2>/dev/null |
            awk '/^Package: / { p = $2 } /^Section: libs$/ { print p }' | sort -u)
        for p in "${libs[@]}"; do seen[$p]=1; done
        level=("${libs[@]}")
    done
    printf '%s\n' "${!seen[@]}" | sort
}

# debian_rootfs ROOTFS PACKAGE=VERSION SEED...: a root filesystem of the pinned package, the other seeds and
# their libraries (dpkg -x, no maintainer scripts), with passwd/group for root and www-data. Prints the
# packages it holds, as name=version.
debian_rootfs() {
    local rootfs=$1 pinned=$2
    shift 2
    local name=${pinned%%=*} version=${pinned#*=}
    local candidate
    candidate=$(apt-cache policy "$name" 2>/dev/null | awk '/Candidate:/ { print $2 }')
    if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
        apt_update_once
        candidate=$(apt-cache policy "$name" 2>/dev/null | awk '/Candidate:/ { print $2 }')
    fi
    if ! apt-cache show "$name=$version" >/dev/null 2>&1; then
        die "Debian no longer offers $name $version (it has ${candidate:-none}): set it in toolchain/versions.sh"
    fi
    local debs
    debs="$(dirname "$rootfs")/debs"
    mkdir -p "$debs"
    local packages=()
    mapfile -t packages < <(library_closure "$name" "$@")
    local p specs=()
    for p in "${packages[@]}"; do
        if [ "$p" = "$name" ]; then specs+=("$name=$version"); else specs+=("$p"); fi
    done
    progress_run "$name $version" "downloading ${#packages[@]} Debian packages" "$cache_dir/$name-download.log" \
        in_dir "$debs" apt-get download -q -o APT::Sandbox::User=root "${specs[@]}" \
        || die "apt-get download ${specs[*]}"
    mkdir -p "$rootfs"
    local deb
    for deb in "$debs"/*.deb; do
        dpkg-deb -x "$deb" "$rootfs"
        dpkg-deb -f "$deb" Package Version | paste -sd= | sed 's/Package: //; s/Version: //'
    done
    rm -rf "$debs"
    # Documentation is not needed to serve pages.
    rm -rf "$rootfs/usr/share/doc" "$rootfs/usr/share/man" "$rootfs/usr/share/lintian" "$rootfs/usr/share/info"
    mkdir -p "$rootfs/etc" "$rootfs/run" "$rootfs/var/www" "$rootfs/tmp"
    chmod 1777 "$rootfs/tmp"
    printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$rootfs/etc/passwd"
    printf 'root:x:0:\nwww-data:x:33:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
    printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
}

# labels TITLE VERSION PACKAGES: the image config's Labels, naming the image and its Debian packages.
labels() {
    printf '{"org.opencontainers.image.title":"%s","org.opencontainers.image.version":"%s","org.opencontainers.image.description":"built by eks-nginx toolchain/images from Debian 12 packages: %s"}' \
        "$1" "$2" "$(tr '\n' ' ' <<<"$3" | sed 's/ $//')"
}

# smoke_test ROOTFS COMMAND...: the server's own check (config, libraries, modules) run in the root filesystem.
smoke_test() {
    local rootfs=$1
    shift
    [ "$(id -u)" = 0 ] || { log "  (not root: skipping the chroot check of $*)"; return 0; }
    mkdir -p "$rootfs/dev" "$rootfs/proc" && : >"$rootfs/dev/null"
    # Unmounted however this ends (an interrupted build must not leave /proc mounted in the work folder).
    trap 'umount "$rootfs/proc" "$rootfs/dev/null" 2>/dev/null || true' RETURN EXIT
    mount --bind /dev/null "$rootfs/dev/null"
    mount -t proc proc "$rootfs/proc"
    local rc=0 output
    output=$(chroot "$rootfs" "$@" 2>&1) || rc=$?
    umount "$rootfs/proc" "$rootfs/dev/null"
    trap - RETURN EXIT
    rm -rf "${rootfs:?}/dev" "${rootfs:?}/proc"
    [ $rc -eq 0 ] || die "image check '$*' failed: $output"
}

build_nginx() {
    local rootfs=$1 packages
    packages=$(debian_rootfs "$rootfs" "nginx=$NGINX_DEBIAN_VERSION" nginx-common)
    install -m 0644 "$here/nginx/nginx.conf" "$rootfs/etc/nginx/nginx.conf"
    rm -rf "$rootfs/etc/nginx/sites-available" "$rootfs/etc/nginx/sites-enabled"
    mkdir -p "$rootfs/var/lib/nginx" "$rootfs/var/log/nginx"
    smoke_test "$rootfs" /usr/sbin/nginx -t -e stderr
    printf '{"Env":[%s],"Entrypoint":["/usr/sbin/nginx","-e","stderr"],"ExposedPorts":{"80/tcp":{}},"StopSignal":"SIGQUIT","WorkingDir":"/","Labels":%s}' \
        "$PATH_ENV" "$(labels "nginx $NGINX_DEBIAN_VERSION (Debian 12)" "$NGINX_DEBIAN_VERSION" "$packages")"
}

build_httpd() {
    local rootfs=$1 packages
    packages=$(debian_rootfs "$rootfs" "apache2-bin=$HTTPD_DEBIAN_VERSION")
    install -D -m 0644 "$here/httpd/httpd.conf" "$rootfs/etc/apache2/httpd.conf"
    install -D -m 0644 "$here/httpd/index.html" "$rootfs/var/www/html/index.html"
    mkdir -p "$rootfs/run/apache2"
    smoke_test "$rootfs" /usr/sbin/apache2 -t -f /etc/apache2/httpd.conf
    # SIGWINCH: graceful stop (finish the requests in flight), as the official httpd image stops.
    printf '{"Env":[%s],"Entrypoint":["/usr/sbin/apache2","-DFOREGROUND","-f","/etc/apache2/httpd.conf"],"ExposedPorts":{"80/tcp":{}},"StopSignal":"SIGWINCH","WorkingDir":"/","Labels":%s}' \
        "$PATH_ENV" "$(labels "Apache httpd $HTTPD_DEBIAN_VERSION (Debian 12 apache2-bin)" "$HTTPD_DEBIAN_VERSION" "$packages")"
}

build_pause() {
    local rootfs=$1
    install -D -m 0755 "$TOOLCHAIN_BIN/pause" "$rootfs/pause"
    printf '{"Entrypoint":["/pause"],"WorkingDir":"/","Labels":{"org.opencontainers.image.title":"pause %s (eks-nginx toolchain/data-plane/pause)"}}' \
        "$PAUSE_VERSION"
}

# image NAME REF VERSION RECIPE_FILES...: builds REF with build_NAME unless the cache has it for this
# version and recipe; copies it to .toolchain/images/NAME.tar.
image() {
    local name=$1 ref=$2 version=$3 t0=$SECONDS
    shift 3
    local recipe
    recipe=$({ echo "$ref"; cat "$here/build.sh" "$here/oci.sh" "$@"; } | sha256sum | cut -c1-12)
    local cached="$cache_dir/$name-$version-$recipe.tar"
    if [ ! -f "$cached" ]; then
        log "image $ref: building"
        # Kept in the cache (not /tmp), and cleared before each build: a failed build leaves nothing elsewhere.
        local work="$cache_dir/.build-$name"
        rm -rf "$work"
        mkdir -p "$work"
        local config
        config=$("build_$name" "$work/rootfs")
        oci_archive "$work/rootfs" "$ref" "$cached.tmp" "$config" >"$work/digest"
        mv "$cached.tmp" "$cached"
        # Older recipes of this version are not used again.
        find "$cache_dir" -name "$name-$version-*.tar" ! -path "$cached" -delete
        log "image $ref: $(du -m "$cached" | cut -f1) MB, manifest $(cat "$work/digest")"
        rm -rf "$work"
    fi
    install -m 0644 "$cached" "$out_dir/$name.tar"
    log "image $ref: ready in $((SECONDS - t0))s"
}

rm -f "$out_dir"/*.tar
image pause "$PAUSE_IMAGE" "$PAUSE_VERSION" "$TOOLCHAIN_BIN/pause"
image nginx "$NGINX_IMAGE" "$NGINX_DEBIAN_VERSION" "$here/nginx/nginx.conf"
image httpd "$HTTPD_IMAGE" "$HTTPD_DEBIAN_VERSION" "$here/httpd/httpd.conf" "$here/httpd/index.html"
