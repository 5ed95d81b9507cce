/**
 * Container image references as Docker and containerd read them (the grammar of distribution/reference, with
 * Docker's familiar names: `nginx:1.28.0` is docker.io/library/nginx:1.28.0). The program checks the `image` key
 * with it and the policy pack reads tags and digests with it.
 *
 * Written as plain string splitting plus one small regular expression per part, each unambiguous (every
 * repetition is separated by a character the repeated part cannot contain), so a check takes time linear in the
 * input's length, and the input is refused beyond 512 characters before any expression runs. (The reference
 * grammar as one regular expression backtracks exponentially in JavaScript's engine on near-misses such as a
 * trailing space.)
 */

/** The parts of a reference; `tag` and `digest` are unset when the reference has none. */
export interface ImageReference {
    /** Registry host and port, e.g. `registry.example.com:5000`; `docker.io` for familiar names. */
    domain: string;
    /** Repository path, e.g. `library/nginx` or `myteam/web`. */
    path: string;
    tag?: string;
    /** `algorithm:hex`, e.g. `sha256:<64 hex digits>`. */
    digest?: string;
}

/** Longest reference accepted; names are at most 255 characters, tags 128, digests 64-128 hex digits. */
export const MAX_REFERENCE_LENGTH = 512;
const MAX_NAME_LENGTH = 255;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_LABEL = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const IPV6_HOST = /^\[[a-fA-F0-9:]+\]$/;
const PORT = /^[0-9]+$/;
const TAG = /^\w[\w.-]{0,127}$/;
const DIGEST = /^([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*):([0-9a-fA-F]{32,})$/;
/** Hex digits of each digest algorithm containerd verifies (go-digest's); it refuses every other algorithm. */
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** The reference's parts, or undefined when it is not a valid reference. */
export function parseImageReference(reference: string): ImageReference | undefined {
    if (reference.length === 0 || reference.length > MAX_REFERENCE_LENGTH) {
        return undefined;
    }
    let rest = reference;
    let digest: string | undefined;
    const at = rest.indexOf("@");
    if (at >= 0) {
        digest = rest.slice(at + 1);
        rest = rest.slice(0, at);
        const m = DIGEST.exec(digest);
        if (!m || DIGEST_HEX_LENGTH[m[1]] !== m[2].length) {
            return undefined;
        }
    }
    let tag: string | undefined;
    const colon = rest.lastIndexOf(":");
    if (colon > rest.lastIndexOf("/")) {
        tag = rest.slice(colon + 1);
        rest = rest.slice(0, colon);
        if (!TAG.test(tag)) {
            return undefined;
        }
    }
    if (rest.length > MAX_NAME_LENGTH) {
        return undefined;
    }
    const components = rest.split("/");
    let domain = "docker.io";
    // Docker's rule: the first of several components is a registry when it has a dot, a port or upper case, or
    // is localhost; otherwise the reference is on Docker Hub.
    const first = components[0];
    if (components.length > 1 && (/[.:]/.test(first) || first === "localhost" || first !== first.toLowerCase())) {
        if (!isDomain(first)) {
            return undefined;
        }
        domain = first;
        components.shift();
    }
    if (!components.every((c) => PATH_COMPONENT.test(c))) {
        return undefined;
    }
    const path = domain === "docker.io" && components.length === 1 ? `library/${components[0]}` : components.join("/");
    return { domain, path, tag, digest };
}

/** host[:port], the host a DNS name (labels separated by dots) or a bracketed IPv6 address. */
function isDomain(value: string): boolean {
    let host = value;
    const colon = value.lastIndexOf(":");
    if (colon >= 0 && colon > value.lastIndexOf("]")) {
        if (!PORT.test(value.slice(colon + 1))) {
            return false;
        }
        host = value.slice(0, colon);
    }
    return IPV6_HOST.test(host) || host.split(".").every((label) => DOMAIN_LABEL.test(label));
}
