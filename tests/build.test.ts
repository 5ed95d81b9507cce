import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../harness/mocks";
import { BuildError, ensureBuilt, isUpToDate } from "../scripts/build";

/**
 * scripts/build.js, which main.js runs before every pulumi run, on a two-file project (no standard library,
 * so each tsc run takes a fraction of a second): it builds once, then only when an input or an output
 * changed, and a type error throws tsc's message and never leaves a build that passes for up to date.
 */
describe("the program's build (main.js → scripts/build.js)", function () {
    this.timeout(60000);
    let dir = "";
    const builds: string[] = [];
    const build = () => ensureBuilt({ root: dir, log: (l) => builds.push(l) });
    const write = (file: string, text: string) => fs.writeFileSync(path.join(dir, file), text);
    const runBuilt = () => {
        const entry = build();
        Object.keys(require.cache).filter((f) => f.startsWith(dir)).forEach((f) => delete require.cache[f]);
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        return require(entry);
    };

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "eks-nginx-build-"));
        fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
        write("tsconfig.build.json", JSON.stringify({
            compilerOptions: { strict: true, noLib: true, types: [], target: "es2022", module: "commonjs", rootDir: ".", outDir: "bin", noEmitOnError: true },
            files: ["globals.d.ts", "index.ts"],
        }));
        write("globals.d.ts", ["Array<T>", "Boolean", "Function", "IArguments", "Number", "Object", "RegExp", "String", "CallableFunction", "NewableFunction"]
            .map((t) => `interface ${t} {}`).join("\n"));
        write("index.ts", "import { n } from \"./lib\";\nconst doubled: number = n * 2;\nexport = doubled;\n");
        write("lib.ts", "export const n: number = 1;\n");
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("builds when there is no build, then not again while nothing changed", () => {
        assert.strictEqual(isUpToDate({ root: dir }), false);
        assert.strictEqual(runBuilt(), 2);
        assert.strictEqual(builds.length, 2, builds.join("\n"));
        assert.strictEqual(isUpToDate({ root: dir }), true);
        assert.strictEqual(runBuilt(), 2);
        assert.strictEqual(builds.length, 2, "no second tsc run");
    });

    it("rebuilds when a source that is only imported changes", () => {
        write("lib.ts", "export const n: number = 5;\n");
        assert.strictEqual(isUpToDate({ root: dir }), false);
        assert.strictEqual(runBuilt(), 10);
    });

    it("stops on a type error with tsc's message, and keeps stopping until it is fixed", () => {
        write("lib.ts", "export const n: number = \"five\";\n");
        for (let i = 0; i < 2; i++) {
            assert.throws(build, (e: Error) => e instanceof BuildError &&
                /nothing was deployed/.test(e.message) && /lib\.ts\(1,14\): error TS2322: Type 'string' is not assignable to type 'number'/.test(e.message));
            assert.strictEqual(isUpToDate({ root: dir }), false);
        }
        assert.match(fs.readFileSync(path.join(dir, "bin", "lib.js"), "utf8"), /= 5;/, "noEmitOnError: the old output stays, unstamped");
        write("lib.ts", "export const n: number = 7;\n");
        assert.strictEqual(runBuilt(), 14);
    });

    it("rebuilds when a compiled file was edited or deleted, or the tsconfig changed", () => {
        fs.appendFileSync(path.join(dir, "bin", "index.js"), "module.exports = 0;\n");
        assert.strictEqual(isUpToDate({ root: dir }), false);
        assert.strictEqual(runBuilt(), 14);
        fs.rmSync(path.join(dir, "bin", "lib.js"));
        assert.strictEqual(isUpToDate({ root: dir }), false);
        assert.strictEqual(runBuilt(), 14);
        const tsconfig = JSON.parse(fs.readFileSync(path.join(dir, "tsconfig.build.json"), "utf8"));
        write("tsconfig.build.json", JSON.stringify({ ...tsconfig, compilerOptions: { ...tsconfig.compilerOptions, noImplicitReturns: true } }));
        assert.strictEqual(isUpToDate({ root: dir }), false);
        assert.strictEqual(runBuilt(), 14);
    });
});

/**
 * The same build on a project that references another, as tsconfig.build.json references tsconfig.eks.json:
 * both incremental, each compiled only when its own inputs changed (the referencing one reads the other's
 * declarations), both in one `tsc --build` when neither is built, and an edited or deleted output written again
 * although the .tsbuildinfo says nothing changed.
 */
describe("the program's build of two projects, one referencing the other (tsconfig.eks.json)", function () {
    this.timeout(60000);
    let dir = "";
    let builds: string[] = [];
    const write = (file: string, text: string) => fs.writeFileSync(path.join(dir, file), text);
    /** Builds and runs the program; returns its value and which projects tsc compiled. */
    const runBuilt = () => {
        builds = [];
        const entry = ensureBuilt({ root: dir, log: (l) => builds.push(l) });
        Object.keys(require.cache).filter((f) => f.startsWith(dir)).forEach((f) => delete require.cache[f]);
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        return { value: require(entry), compiled: builds.filter((l) => l.startsWith("type-checking")).map((l) => /: (\S+) →/.exec(l)?.[1]) };
    };
    const options = { strict: true, noLib: true, types: [], target: "es2022", module: "commonjs", rootDir: ".", outDir: "bin", noEmitOnError: true };

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "eks-nginx-build-"));
        fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
        write("tsconfig.lib.json", JSON.stringify({
            compilerOptions: { ...options, composite: true, tsBuildInfoFile: "bin/.lib.tsbuildinfo" }, files: ["globals.d.ts", "lib.ts"],
        }));
        write("tsconfig.build.json", JSON.stringify({
            compilerOptions: { ...options, incremental: true, tsBuildInfoFile: "bin/.tsbuildinfo" },
            references: [{ path: "./tsconfig.lib.json" }], files: ["globals.d.ts", "index.ts"],
        }));
        write("globals.d.ts", ["Array<T>", "Boolean", "Function", "IArguments", "Number", "Object", "RegExp", "String", "CallableFunction", "NewableFunction"]
            .map((t) => `interface ${t} {}`).join("\n"));
        write("index.ts", "import { n } from \"./lib\";\nimport { times } from \"./times\";\nexport = times(n);\n");
        write("times.ts", "export const times = (x: number): number => 2 * x;\n");
        write("lib.ts", "export const n: number = 1;\n");
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("compiles both projects in one tsc --build run when neither is built", () => {
        assert.deepStrictEqual(runBuilt(), { value: 2, compiled: ["tsconfig.lib.json", "tsconfig.build.json"] });
        assert.match(builds.join("\n"), /built in .*tsconfig\.lib\.json, tsconfig\.build\.json/);
        assert.ok(fs.existsSync(path.join(dir, "bin", "lib.d.ts")) && fs.existsSync(path.join(dir, "bin", ".tsbuildinfo")));
        assert.deepStrictEqual(runBuilt(), { value: 2, compiled: [] });
    });

    it("compiles only the referencing project after an edit of its own sources", () => {
        write("times.ts", "export const times = (x: number): number => 3 * x;\n");
        assert.deepStrictEqual(runBuilt(), { value: 3, compiled: ["tsconfig.build.json"] });
    });

    it("compiles only the referenced project when its declarations stay the same, both when they change", () => {
        write("lib.ts", "export const n: number = 5;\n");
        assert.deepStrictEqual(runBuilt(), { value: 15, compiled: ["tsconfig.lib.json"] });
        write("lib.ts", "export const n: number = 5;\nexport const m = 1;\n");
        assert.deepStrictEqual(runBuilt(), { value: 15, compiled: ["tsconfig.lib.json", "tsconfig.build.json"] });
    });

    it("stops on a type error the referenced project's declarations cause in the other, until it is fixed", () => {
        write("lib.ts", "export const n: string = \"five\";\n");
        for (let i = 0; i < 2; i++) {
            assert.throws(runBuilt, (e: Error) => e instanceof BuildError &&
                /tsc -p tsconfig\.build\.json/.test(e.message) && /index\.ts\(3,16\): error TS2345/.test(e.message));
            assert.strictEqual(isUpToDate({ root: dir }), false);
        }
        write("lib.ts", "export const n: number = 7;\n");
        assert.deepStrictEqual(runBuilt(), { value: 21, compiled: ["tsconfig.lib.json", "tsconfig.build.json"] });
    });

    it("writes an edited or deleted output again, though the .tsbuildinfo says nothing changed", () => {
        fs.rmSync(path.join(dir, "bin", "times.js"));
        assert.deepStrictEqual(runBuilt(), { value: 21, compiled: ["tsconfig.build.json"] });
        fs.appendFileSync(path.join(dir, "bin", "lib.js"), "exports.n = 0;\n");
        assert.deepStrictEqual(runBuilt(), { value: 21, compiled: ["tsconfig.lib.json"] });
        assert.strictEqual(isUpToDate({ root: dir }), true);
    });
});
