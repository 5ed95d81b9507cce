// @ts-check
/**
 * The program's build: bin/ holds the program compiled by tsc, type-checked, from exactly the current
 * sources. `main.js` (Pulumi.yaml's `main`) calls ensureBuilt() on every pulumi run; `npm run build` runs
 * it by hand.
 *
 * Up to date means: bin/.build.json records, for each project of the build, the SHA-256 of every input of its
 * last successful tsc run (each project source tsc read, the declarations of the projects it references, the
 * tsconfig files, the lockfiles, which pin the type declarations in node_modules) and of every file it
 * compiled, and all of them still match. Checking that costs a few milliseconds. Anything else (a source
 * edited, added to the imports, a dependency upgraded, a compiled file edited or deleted, no bin/ yet) runs
 * tsc with type-checking (noEmitOnError) on the projects it concerns, and a type error stops the run with
 * tsc's messages before the program registers anything. A project is stamped only after tsc succeeded on it,
 * so a failed or interrupted build is never taken for a good one.
 *
 * The build is two projects (tsconfig.build.json references tsconfig.eks.json) because of what tsc reads:
 * the EKS component imports @pulumi/aws, awsx and eks, whose declarations are about 3,500 of the 4,600 files
 * of the whole program. Compiled on its own, it leaves declarations that name none of them, so an edit
 * anywhere else type-checks the rest of the program (about 1,100 files) against those, and an edit of the
 * EKS component compiles both. Both are incremental (their .tsbuildinfo in bin/).
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
 * @typedef {{ inputs: Record<string, string | null>, outputs: Record<string, string | null> }} ProjectStamp
 * @typedef {{ typescript: string, projects: Record<string, ProjectStamp> }} Stamp
 */

/** @param {BuildOptions} o */
function settings(o) {
    return { root: o.root, tsconfig: o.tsconfig ?? "tsconfig.build.json", outDir: o.outDir ?? "bin", log: o.log ?? (() => {}) };
}

/** @param {string} file @returns {any} the parsed JSON file, undefined when it cannot be read */
function readJson(file) {
    try {
        return JSON.parse(fs.readFileSync(file, "utf8"));
    } catch {
        return undefined;
    }
}

/** @param {string} root @param {string} outDir @returns {Stamp | undefined} */
function readStamp(root, outDir) {
    const stamp = readJson(path.join(root, outDir, STAMP));
    return stamp && typeof stamp.projects === "object" ? stamp : undefined;
}

/** @param {string} root @param {string} outDir @param {Stamp} stamp */
function writeStamp(root, outDir, stamp) {
    // Atomic: a concurrent run sees the old stamp or the new one, never half of it.
    const file = path.join(root, outDir, STAMP);
    fs.writeFileSync(`${file}.${process.pid}`, JSON.stringify(stamp, null, 1) + "\n");
    fs.renameSync(`${file}.${process.pid}`, file);
}

/** @param {string} root @param {Record<string, string | null>} recorded @returns {boolean} every file still has its hash */
function matches(root, recorded) {
    return Object.entries(recorded).every(([f, h]) => hashOf(path.join(root, f)) === h);
}

/**
 * A project's stamp still holds: it records outputs, and every input and output has its recorded hash.
 * @param {string} root @param {ProjectStamp | undefined} recorded @returns {recorded is ProjectStamp}
 */
function holds(root, recorded) {
    return recorded !== undefined && Object.keys(recorded.outputs).length > 0 && matches(root, { ...recorded.inputs, ...recorded.outputs });
}

/**
 * The projects a build compiles, in order, relative to root: those `tsconfig` references (tsconfig.build.json:
 * tsconfig.eks.json, the EKS component), each before the project that reads its declarations, then `tsconfig`.
 * @param {string} root @param {string} tsconfig @returns {string[]}
 */
function projectsOf(root, tsconfig) {
    /** @type {string[]} */
    const order = [];
    const visit = (/** @type {string} */ project) => {
        if (order.includes(project)) {
            return;
        }
        for (const ref of readJson(path.join(root, project))?.references ?? []) {
            const target = path.resolve(root, path.dirname(project), ref.path);
            visit(path.relative(root, target.endsWith(".json") ? target : path.join(target, "tsconfig.json")));
        }
        order.push(project);
    };
    visit(tsconfig);
    return order;
}

/** True when bin/ was built by successful tsc runs from exactly the files there are now. */
function isUpToDate(/** @type {BuildOptions} */ options) {
    const { root, tsconfig, outDir } = settings(options);
    const stamp = readStamp(root, outDir);
    return stamp !== undefined && projectsOf(root, tsconfig).every((p) => holds(root, stamp.projects[p]));
}

/** The tsconfig file and every local file it extends, relative to root. */
function tsconfigChain(/** @type {string} */ root, /** @type {string} */ tsconfig) {
    /** @type {string[]} */
    const chain = [];
    for (let file = tsconfig; file && !chain.includes(file);) {
        chain.push(file);
        const ext = readJson(path.join(root, file))?.extends;
        file = typeof ext === "string" && ext.startsWith(".") ? path.relative(root, path.resolve(root, path.dirname(file), ext)) : "";
    }
    return chain;
}

/** A compiler option as the tsconfig chain sets it (the nearest file wins). */
function optionOf(/** @type {string} */ root, /** @type {string} */ tsconfig, /** @type {string} */ name) {
    for (const file of tsconfigChain(root, tsconfig)) {
        const options = readJson(path.join(root, file))?.compilerOptions ?? {};
        if (name in options) {
            return { value: options[name], dir: path.dirname(file) };
        }
    }
    return undefined;
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

/** Where an incremental (or composite) project keeps what tsc knows of its last build, if anywhere. */
function buildInfoOf(/** @type {string} */ root, /** @type {string} */ project, /** @type {string} */ outDir) {
    const file = optionOf(root, project, "tsBuildInfoFile");
    if (file) {
        return path.resolve(root, file.dir, file.value);
    }
    const incremental = optionOf(root, project, "incremental")?.value ?? optionOf(root, project, "composite")?.value;
    return incremental === true ? path.join(root, outDir, `${path.basename(project, ".json")}.tsbuildinfo`) : undefined;
}

/**
 * Runs tsc with `args` and returns the files it read, by project, and its messages; throws BuildError when it
 * fails. With `--build --verbose`, a "Building project" line starts each project's list of files.
 * @param {string} root @param {string} tsc @param {string[]} args @param {string} project the project of a -p run
 * @returns {Map<string, string[]>} project → the files tsc read for it, relative to root
 */
function runTsc(root, tsc, args, project) {
    const r = spawnSync(process.execPath, [tsc, ...args, "--listFiles", "--pretty", "false"], { cwd: root, encoding: "utf8", maxBuffer: 256 << 20 });
    if (r.error) {
        throw new BuildError(`tsc did not run: ${r.error.message}`);
    }
    /** @type {Map<string, string[]>} */
    const read = new Map();
    /** @type {string[]} */
    const messages = [];
    let current = project;
    for (const line of `${r.stdout}${r.stderr}`.split("\n").filter((l) => l.trim() !== "")) {
        const building = /^\S.* - Building project '(.+)'\.\.\.$/.exec(line);
        if (building) {
            current = path.relative(root, building[1]);
        } else if (path.isAbsolute(line) && fs.existsSync(line)) {
            // --listFiles prints every file of the program as an absolute path; everything else is a message.
            read.set(current, [...(read.get(current) ?? []), path.relative(root, line)]);
        } else if (!/^\S.* - /.test(line) && !/^ {4}\* /.test(line)) {
            // (--verbose's own lines, "<time> - Project ...", and its list of projects, are not messages.)
            messages.push(line);
        }
    }
    if (r.status !== 0) {
        throw new BuildError(`TypeScript errors (tsc ${args.join(" ")}); nothing was deployed:\n${messages.join("\n") || `tsc exited with ${r.status}`}`);
    }
    return read;
}

/** A file of the project itself, relative to root: not outside it, not in node_modules. */
const isProjectFile = (/** @type {string} */ f) => !f.startsWith("..") && !f.split(path.sep).includes("node_modules");
/** A file in `dir` (bin/: there, tsc reads only a referenced project's declarations). */
const isIn = (/** @type {string} */ dir, /** @type {string} */ f) => f.startsWith(path.normalize(dir) + path.sep);

/**
 * What one project was built from and what it wrote. Files tsc read from outDir are a referenced project's
 * declarations: inputs here (that project's stamp holds them as outputs).
 * @param {string} root @param {string} project @param {string} outDir @param {string[]} read the files tsc read
 * @returns {ProjectStamp}
 */
function stampOf(root, project, outDir, read) {
    const inRoot = read.filter(isProjectFile);
    const sources = inRoot.filter((f) => !isIn(outDir, f));
    const declares = [optionOf(root, project, "composite"), optionOf(root, project, "declaration")].some((o) => o?.value === true);
    const outputs = sources.filter((f) => !f.endsWith(".d.ts")).flatMap((f) => {
        const out = path.join(outDir, f.replace(/\.tsx?$/, ""));
        return declares ? [`${out}.js`, `${out}.d.ts`] : [`${out}.js`];
    });
    const stamp = {
        inputs: hashes(root, [...inRoot, ...tsconfigChain(root, project), "package-lock.json", path.join("node_modules", ".package-lock.json")]),
        outputs: hashes(root, outputs),
    };
    const missing = Object.entries(stamp.outputs).filter(([, h]) => h === null).map(([f]) => f);
    if (missing.length > 0 || outputs.length === 0) {
        throw new BuildError(`tsc succeeded but did not write ${missing.join(", ") || "any output"}: check outDir/rootDir in ${project}.`);
    }
    return stamp;
}

/**
 * Runs tsc on every project of the build (projectsOf) whose inputs or outputs are not as its stamp records,
 * in order, and stamps each one after it succeeded; `force` compiles them all. When all of them need it, one
 * `tsc --build` compiles them (it parses the declarations they share once: about 35 % less than a tsc run
 * per project); otherwise each with `tsc -p`, a later one only if the declarations it reads changed.
 * @param {BuildOptions & { force?: boolean }} options
 */
function build(options) {
    const { root, tsconfig, outDir, log } = settings(options);
    let tsc;
    try {
        tsc = require.resolve("typescript/bin/tsc", { paths: [root] });
    } catch {
        throw new BuildError("TypeScript is not installed (run npm ci): the program is type-checked and compiled before it runs.");
    }
    const t0 = Date.now();
    const old = readStamp(root, outDir);
    /** @type {Stamp} */
    const stamp = { typescript: require(require.resolve("typescript/package.json", { paths: [root] })).version, projects: {} };
    const projects = projectsOf(root, tsconfig);
    const current = (/** @type {string} */ p) => !options.force && holds(root, old?.projects[p]);
    /** @param {string[]} these */
    const announce = (these) => these.forEach((p) =>
        log(`type-checking and compiling the program: ${p} → ${outDir}/ (${old?.projects[p] ? "its sources changed since the last build" : "not built yet"})`));
    // An incremental project's .tsbuildinfo says what tsc emitted last time, and tsc writes only what changed
    // since: after an output was edited or deleted (or with no record of the outputs) it must write them all.
    const forgetEmitted = (/** @type {string} */ p) => {
        const buildInfo = buildInfoOf(root, p, outDir);
        const recorded = old?.projects[p];
        if (buildInfo && !(recorded && matches(root, recorded.outputs))) {
            fs.rmSync(buildInfo, { force: true });
        }
    };
    /** @param {string[]} these @param {string[]} args */
    const compile = (these, args) => {
        these.forEach(forgetEmitted);
        const before = sourceSnapshot(root, outDir);
        const read = runTsc(root, tsc, args, these[0]);
        const after = sourceSnapshot(root, outDir);
        for (const p of these) {
            const files = read.get(p) ?? [];
            const sources = files.filter((f) => isProjectFile(f) && !isIn(outDir, f));
            const changedMeanwhile = sources.filter((f) => !before.has(f) || before.get(f) !== after.get(f));
            if (changedMeanwhile.length > 0) {
                throw new BuildError(`${changedMeanwhile.join(", ")} changed while tsc compiled it: run again.`);
            }
            stamp.projects[p] = stampOf(root, p, outDir, files);
        }
        // Stamped as each run succeeds: after a type error in a later project, a next run starts from there.
        writeStamp(root, outDir, stamp);
    };
    /** @type {string[]} */
    const compiled = [];
    if (projects.length > 1 && !projects.some(current)) {
        announce(projects);
        compile(projects, ["--build", tsconfig, "--force", "--verbose"]);
        compiled.push(...projects);
    } else {
        for (const p of projects) {
            const recorded = old?.projects[p];
            if (!options.force && holds(root, recorded)) {
                stamp.projects[p] = recorded;
                continue;
            }
            announce([p]);
            compile([p], ["-p", p]);
            compiled.push(p);
        }
    }
    writeStamp(root, outDir, stamp);
    const files = Object.values(stamp.projects).reduce((n, s) => n + Object.keys(s.outputs).filter((f) => f.endsWith(".js")).length, 0);
    log(`built in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${compiled.join(", ") || "nothing to compile"}; ${files} files in ${outDir}/`);
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
            build({ root, log, force: process.argv.includes("--force") });
        } else {
            log("bin/ is up to date with the sources");
        }
    } catch (e) {
        console.error(e instanceof BuildError ? e.message : e);
        process.exit(1);
    }
}
