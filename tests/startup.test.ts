import * as assert from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { ROOT } from "../harness/mocks";

/** Which of the two modules the deferral keeps from loading were in require.cache at one step. */
interface Loaded { typescript: boolean; arborist: boolean }
/** A step's result, or the error it threw. */
type Outcome<T> = { value: T } | { error: string };
interface Report {
    afterSdk: Loaded;
    serialize?: Outcome<string>;
    afterSerialize?: Loaded;
    codePaths?: Outcome<string[]>;
    afterCodePaths?: Loaded;
}

/**
 * Run in a fresh Node.js process (so that this process's module cache, where ts-node has loaded TypeScript,
 * plays no part). Mode "main": main.js as pulumi runs it, with its build left out (ensureBuilt returns the
 * SDK's own entry point, so the "program" main.js loads is the SDK, which is what bin/index.js loads first);
 * then the function serializer and the code-path walk used once each. Mode "sdk-only": the SDK loaded alone.
 * Prints a Report. Both use Node's compile cache where main.js keeps it, as every pulumi run does: it spares
 * them compiling the SDK and TypeScript again, and changes nothing about what loads.
 */
const PROBE = String.raw`
"use strict";
const path = require("path");
const [root, mode, packageDir] = process.argv.slice(1);
const sdk = require.resolve("@pulumi/pulumi", { paths: [root] });
const loaded = () => {
    const files = Object.keys(require.cache);
    return {
        typescript: files.some((f) => path.basename(f) === "typescript.js"),
        arborist: files.some((f) => f.includes(path.sep + path.join("@npmcli", "arborist") + path.sep)),
    };
};
const attempt = (f) => f().then((value) => ({ value }), (e) => ({ error: String(e?.stack ?? e) }));
(async () => {
    if (mode === "sdk-only") {
        require(sdk);
        console.log(JSON.stringify({ afterSdk: loaded() }));
        return;
    }
    require(path.join(root, "scripts", "build.js")).ensureBuilt = () => sdk;
    const pulumi = require(path.join(root, "main.js"));
    const report = { afterSdk: loaded() };
    report.serialize = await attempt(async () => (await pulumi.runtime.serializeFunction(function answer() { return 6 * 7; })).text);
    report.afterSerialize = loaded();
    process.chdir(packageDir);
    report.codePaths = await attempt(async () => [...(await pulumi.runtime.computeCodePaths()).keys()]);
    report.afterCodePaths = loaded();
    console.log(JSON.stringify(report));
})();
`;

async function probe(mode: "main" | "sdk-only", packageDir = ""): Promise<Report> {
    try {
        const env = { ...process.env, NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE || path.join(ROOT, "node_modules", ".cache", "node-compile-cache") };
        const { stdout } = await promisify(execFile)(process.execPath, ["-e", PROBE, ROOT, mode, packageDir], { cwd: ROOT, env, encoding: "utf8" });
        return JSON.parse(stdout);
    } catch (e) {
        throw new Error(`the start-up probe (${mode}) failed: ${(e as { stderr?: string }).stderr || e}`);
    }
}

/** A step's value; fails with the step's error. */
function valueOf<T>(step: string, outcome: Outcome<T> | undefined): T {
    assert.ok(outcome && "value" in outcome, `${step} threw: ${outcome && "error" in outcome ? outcome.error : "not run"}`);
    return outcome.value;
}

/**
 * main.js's start-up trick (scripts/deferLoading.js): the SDK's function serializer gets stand-ins for
 * TypeScript's compiler and npm's arborist, which load on first use. It rests on where the SDK requires
 * them and on a private Node.js API, so an upgrade of either could silently undo it or break the
 * serializer: these fail then.
 */
describe("start-up: the SDK's serializer loads TypeScript and arborist on first use (main.js)", function () {
    // Two Node.js processes, each loading the SDK (one TypeScript too): about 1 s, 3 s on a loaded machine.
    this.timeout(20000);
    let packageDir = "";
    let viaMain: Report;
    let sdkAlone: Report;

    before(async () => {
        // A package with one dependency, for the code-path walk (arborist reads its node_modules).
        packageDir = fs.mkdtempSync(path.join(os.tmpdir(), "eks-nginx-startup-"));
        fs.mkdirSync(path.join(packageDir, "node_modules", "left-pad"), { recursive: true });
        fs.writeFileSync(path.join(packageDir, "package.json"), JSON.stringify({ name: "probe", version: "1.0.0", dependencies: { "left-pad": "1.0.0" } }));
        fs.writeFileSync(path.join(packageDir, "node_modules", "left-pad", "package.json"), JSON.stringify({ name: "left-pad", version: "1.0.0" }));
        [viaMain, sdkAlone] = await Promise.all([probe("main", packageDir), probe("sdk-only")]);
    });
    after(() => fs.rmSync(packageDir, { recursive: true, force: true }));

    it("without the deferral the SDK loads both as it loads (else the deferral is dead code: remove it)", () => {
        assert.deepStrictEqual(sdkAlone.afterSdk, { typescript: true, arborist: true },
            "the SDK no longer loads one of them as it loads: drop it from scripts/deferLoading.js's DEFERRED (both: drop the deferral)");
    });

    it("main.js loads neither as the program loads the SDK", () => {
        assert.deepStrictEqual(viaMain.afterSdk, { typescript: false, arborist: false },
            "loaded anyway: does main.js still call deferSerializerDependencies() before it loads the program? " +
            "Did an SDK upgrade move the requires of @pulumi/pulumi/runtime/closure (scripts/deferLoading.js: DEFERRED, SERIALIZER)?");
    });

    it("the serializer still works: serializeFunction returns the function's text, and only then TypeScript loads", () => {
        assert.match(valueOf("serializeFunction", viaMain.serialize), /exports\.handler = __answer;[^]*return 6 \* 7;/);
        assert.deepStrictEqual(viaMain.afterSerialize, { typescript: true, arborist: false });
    });

    it("the code-path walk still works: computeCodePaths finds the dependency, and only then arborist loads", () => {
        assert.deepStrictEqual(valueOf("computeCodePaths", viaMain.codePaths), ["node_modules/left-pad"]);
        assert.deepStrictEqual(viaMain.afterCodePaths, { typescript: true, arborist: true });
    });
});
