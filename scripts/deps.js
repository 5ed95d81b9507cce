// @ts-check
/**
 * Whether node_modules holds what package-lock.json pins, so that `npm test` and `npm start` run `npm ci`
 * on a fresh clone or after the lockfile changed, and never again right after one (CI runs `npm ci`, then
 * `npm test`).
 *
 * Compared by content, not by file times: npm's own record of what it installed (node_modules/.package-lock.json,
 * which every `npm ci` and `npm install` rewrites) against package-lock.json, each package's folder is there,
 * and the lockfile's root against package.json's dependencies. A checkout sets the lockfile's time to the
 * checkout's, so a time comparison would take a current tree for a stale one. Reading both files and
 * looking at each package's folder takes a few milliseconds.
 *
 *     node scripts/deps.js [project folder]   exits 0 when node_modules is current, else 1 and prints why
 */
"use strict";
const fs = require("fs");
const path = require("path");

/** The dependency fields of package.json that npm records in the lockfile's root entry. */
const FIELDS = ["dependencies", "devDependencies", "optionalDependencies", "peerDependencies"];

/**
 * @typedef {{ version?: string, integrity?: string, resolved?: string, link?: boolean, optional?: boolean }} LockEntry
 * @typedef {{ packages?: Record<string, LockEntry & Record<string, unknown>> }} Lockfile
 */

/** @param {string} file @returns {any} the parsed file, undefined when it does not exist */
function readJson(file) {
    try {
        return JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
        if (/** @type {NodeJS.ErrnoException} */ (e).code === "ENOENT") {
            return undefined;
        }
        throw new Error(`${file}: ${/** @type {Error} */ (e).message}`);
    }
}

/** @param {unknown} a @param {unknown} b @returns {boolean} equal as JSON with keys in any order */
function sameRecord(a, b) {
    const sorted = (/** @type {unknown} */ r) => JSON.stringify(Object.entries(r ?? {}).sort(([x], [y]) => (x < y ? -1 : 1)));
    return sorted(a) === sorted(b);
}

/**
 * @param {string} root the project folder (package.json, package-lock.json, node_modules)
 * @returns {string | null} why node_modules is not what package-lock.json pins, null when it is
 */
function staleReason(root) {
    const manifest = readJson(path.join(root, "package.json"));
    /** @type {Lockfile | undefined} */
    const lock = readJson(path.join(root, "package-lock.json"));
    if (manifest === undefined || lock === undefined || lock.packages === undefined) {
        return "no package.json or package-lock.json (v2 or newer)";
    }
    /** @type {Lockfile | undefined} */
    const installed = readJson(path.join(root, "node_modules", ".package-lock.json"));
    if (installed === undefined || installed.packages === undefined) {
        return "node_modules is not installed";
    }
    const rootEntry = lock.packages[""] ?? {};
    for (const field of FIELDS) {
        if (!sameRecord(manifest[field], rootEntry[field])) {
            return `package.json's ${field} differ from package-lock.json's`;
        }
    }
    const have = installed.packages;
    for (const [key, want] of Object.entries(lock.packages)) {
        if (key === "") {
            continue;
        }
        const got = have[key];
        if (got === undefined) {
            // npm skips optional packages built for other platforms (os/cpu), and records nothing for them.
            if (want.optional) {
                continue;
            }
            return `${key} is not installed`;
        }
        if (got.version !== want.version || got.integrity !== want.integrity || got.resolved !== want.resolved || !!got.link !== !!want.link) {
            return `${key} is ${got.version ?? got.resolved}, package-lock.json has ${want.version ?? want.resolved}`;
        }
        if (!want.link && !fs.existsSync(path.join(root, key, "package.json"))) {
            return `${key} is missing from its folder`;
        }
    }
    for (const key of Object.keys(have)) {
        if (!(key in lock.packages)) {
            return `${key} is installed but not in package-lock.json`;
        }
    }
    return null;
}

module.exports = { staleReason };

if (require.main === module) {
    const reason = staleReason(path.resolve(process.argv[2] ?? path.join(__dirname, "..")));
    if (reason !== null) {
        console.log(reason);
        process.exit(1);
    }
}
