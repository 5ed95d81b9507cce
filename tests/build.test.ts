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
