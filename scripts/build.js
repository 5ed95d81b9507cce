// @ts-check
/**
 * The program's build: bin/ holds the program compiled by tsc, type-checked, from exactly the current
 * sources. `main.js` (Pulumi.yaml's `main`) calls ensureBuilt() on every pulumi run; `npm run build` runs
 * it by hand.
 *
 * Up to date means: bin/.build.json records the SHA-256 of every input of the last successful build (each
 * project source tsc read, the tsconfig files, the lockfiles, which pin the type declarations in
 * node_modules) and of every compiled .js file, and all of them still match. Checking that costs a few
 * milliseconds. Anything else (a source edited, added to the imports, a dependency upgraded, a compiled
 * file edited or deleted, no bin/ yet) runs tsc with type-checking (incremental, noEmitOnError), and a type
 * error stops the run with tsc's messages before the program registers anything. A stamp is written only
 * after tsc succeeded, so a failed or interrupted build is never taken for a good one.
 */
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const { spawnSync } = require("child_process");

const STAMP = ".build.json";

/** A failed build: `message` is tsc's output (or why tsc could not run). */
class BuildError extends Error {
    /** @param {string} message */
    constructor(message) {
        super(message);
        this.name = "BuildError";
    }
}

/** @param {string} file @returns {string | null} the file's SHA-256, null when it does not exist */
function hashOf(file) {
    try {
        return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
    } catch (e) {
        if (/** @type {NodeJS.ErrnoException} */ (e).code === "ENOENT") {
            return null;
        }
        throw e;
    }
}

/** @param {string} root @param {string[]} files relative to root @returns {Record<string, string | null>} */
function hashes(root, files) {
    return Object.fromEntries(files.map((f) => [f, hashOf(path.join(root, f))]));
}

/**
 * @typedef {{ root: string, tsconfig?: string, outDir?: string, log?: (line: string) => void }} BuildOptions
 * @typedef {{ typescript: string, inputs: Record<string, string | null>, outputs: Record<string, string | null> }} Stamp
 */

/** @param {BuildOptions} o */
function settings(o) {
    return { root: o.root, tsconfig: o.tsconfig ?? "tsconfig.build.json", outDir: o.outDir ?? "bin", log: o.log ?? (() => {}) };
}

/** True when bin/ was built by a successful tsc run from exactly the files there are now. */
function isUpToDate(/** @type {BuildOptions} */ options) {
    const { root, outDir } = settings(options);
    /** @type {Stamp} */
    let stamp;
    try {
        stamp = JSON.parse(fs.readFileSync(path.join(root, outDir, STAMP), "utf8"));
    } catch {
        return false;
    }
    const recorded = { ...stamp.inputs, ...stamp.outputs };
    return Object.keys(stamp.outputs ?? {}).length > 0 && Object.entries(recorded).every(([f, h]) => hashOf(path.join(root, f)) === h);
}

/** The tsconfig file and every local file it extends, relative to root. */
function tsconfigChain(/** @type {string} */ root, /** @type {string} */ tsconfig) {
    /** @type {string[]} */
    const chain = [];
    for (let file = tsconfig; file && !chain.includes(file);) {
        chain.push(file);
        let ext;
        try {
            ext = JSON.parse(fs.readFileSync(path.join(root, file), "utf8")).extends;
        } catch {
            break;
        }
        file = typeof ext === "string" && ext.startsWith(".") ? path.relative(root, path.resolve(root, path.dirname(file), ext)) : "";
    }
    return chain;
}

/**
 * Modification time and size of every TypeScript file under root (not in node_modules, the output or dot
 * folders), to tell afterwards whether one changed while tsc ran.
 * @param {string} root @param {string} outDir @returns {Map<string, string>}
 */
function sourceSnapshot(root, outDir) {
    const seen = new Map();
    const walk = (/** @type {string} */ dir) => {
        for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
            const rel = path.join(dir, e.name);
            if (e.isDirectory() && !e.name.startsWith(".") && e.name !== "node_modules" && rel !== path.normalize(outDir)) {
                walk(rel);
            } else if (e.isFile() && /\.[cm]?tsx?$/.test(e.name)) {
                const st = fs.statSync(path.join(root, rel));
                seen.set(rel, `${st.mtimeMs}:${st.size}`);
            }
        }
    };
    walk("");
    return seen;
}

/** Runs tsc (type-checked) and records what it built from; throws BuildError with tsc's messages. */
function build(/** @type {BuildOptions} */ options) {
    const { root, tsconfig, outDir, log } = settings(options);
    let tsc;
    try {
        tsc = require.resolve("typescript/bin/tsc", { paths: [root] });
    } catch {
        throw new BuildError("TypeScript is not installed (run npm ci): the program is type-checked and compiled before it runs.");
    }
    const t0 = Date.now();
    const before = sourceSnapshot(root, outDir);
    log(`type-checking and compiling the program (${tsconfig} → ${outDir}/): its sources changed since the last build`);
    const r = spawnSync(process.execPath, [tsc, "-p", tsconfig, "--listFiles", "--pretty", "false"], { cwd: root, encoding: "utf8", maxBuffer: 256 << 20 });
    if (r.error) {
        throw new BuildError(`tsc did not run: ${r.error.message}`);
    }
    const lines = `${r.stdout}${r.stderr}`.split("\n").filter((l) => l.trim() !== "");
    // --listFiles prints every file of the program as an absolute path; everything else is a diagnostic.
    const listed = lines.filter((l) => path.isAbsolute(l) && fs.existsSync(l));
    const messages = lines.filter((l) => !listed.includes(l));
    if (r.status !== 0) {
        throw new BuildError(`TypeScript errors (tsc -p ${tsconfig}); nothing was deployed:\n${messages.join("\n") || `tsc exited with ${r.status}`}`);
    }
    const sources = listed.map((f) => path.relative(root, f)).filter((f) => !f.startsWith("..") && !f.split(path.sep).includes("node_modules"));
    const after = sourceSnapshot(root, outDir);
    const changedMeanwhile = sources.filter((f) => !before.has(f) || before.get(f) !== after.get(f));
    if (changedMeanwhile.length > 0) {
        throw new BuildError(`${changedMeanwhile.join(", ")} changed while tsc compiled it: run again.`);
    }
    const outputs = sources.filter((f) => !f.endsWith(".d.ts")).map((f) => path.join(outDir, f.replace(/\.tsx?$/, ".js")));
    /** @type {Stamp} */
    const stamp = {
        typescript: require(require.resolve("typescript/package.json", { paths: [root] })).version,
        inputs: hashes(root, [...sources, ...tsconfigChain(root, tsconfig), "package-lock.json", path.join("node_modules", ".package-lock.json")]),
        outputs: hashes(root, outputs),
    };
    const missing = Object.entries(stamp.outputs).filter(([, h]) => h === null).map(([f]) => f);
    if (missing.length > 0 || outputs.length === 0) {
        throw new BuildError(`tsc succeeded but did not write ${missing.join(", ") || "any output"}: check outDir/rootDir in ${tsconfig}.`);
    }
    // Atomic: a concurrent run sees the old stamp or the new one, never half of it.
    const file = path.join(root, outDir, STAMP);
    fs.writeFileSync(`${file}.${process.pid}`, JSON.stringify(stamp, null, 1) + "\n");
    fs.renameSync(`${file}.${process.pid}`, file);
    log(`built in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${outputs.length} files in ${outDir}/`);
}

/**
 * Makes sure bin/ is built from the current sources (builds it when not) and returns the compiled entry
 * point's path. Throws BuildError when tsc reports errors.
 * @param {BuildOptions & { entry?: string }} options
 */
function ensureBuilt(options) {
    const { root, outDir } = settings(options);
    if (!isUpToDate(options)) {
        build(options);
    }
    return path.join(root, outDir, options.entry ?? "index.js");
}

module.exports = { BuildError, ensureBuilt, isUpToDate, build };

if (require.main === module) {
    // npm run build [-- --force]
    const root = path.resolve(__dirname, "..");
    const log = (/** @type {string} */ line) => console.error(`[build] ${line}`);
    try {
        if (process.argv.includes("--force") || !isUpToDate({ root })) {
            build({ root, log });
        } else {
            log("bin/ is up to date with the sources");
        }
    } catch (e) {
        console.error(e instanceof BuildError ? e.message : e);
        process.exit(1);
    }
}
