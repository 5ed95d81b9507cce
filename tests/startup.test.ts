import * as assert from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { parse } from "yaml";
import { ROOT } from "../harness/mocks";

/**
 * Which of the modules the deferrals keep from loading were in require.cache at one step: TypeScript,
 * arborist, normalize-package-data, any of OpenTelemetry's tracer SDK, exporter and instrumentation
 * (TRACING_DEFERRED), the Automation API, zod's locales (their index); and how many inspector sessions the
 * process had opened.
 */
interface Loaded { typescript: boolean; arborist: boolean; normalizePackageData: boolean; tracer: boolean; automation: boolean; zodLocales: boolean; sessions: number }
/** A step's result, or the error it threw. */
type Outcome<T> = { value: T } | { error: string };
interface Report {
    afterSdk: Loaded;
    /** After the run path's `v8Hooks.isInitializedAsync()`, which it awaits before it runs the program. */
    afterRunPathHooks?: Loaded;
    /** Where V8 says the SDK's `output` function is, through the serializer's session (opened by this call). */
    functionFile?: Outcome<string>;
    afterFunctionLocation?: Loaded;
    automationWorkspace?: Outcome<string>;
    /** The top frame of the stack trace the SDK's debuggablePromise takes, after the run path installed source-map-support. */
    promiseFrame?: string;
    /**
     * The files of the two top frames of the stack trace the SDK takes for a resource (Resource.callsites), then,
     * called from a program's file with a source map: the SDK's own, and the program's.
     */
    resourceFrameFiles?: string[];
    serialize?: Outcome<string>;
    afterSerialize?: Loaded;
    codePaths?: Outcome<string[]>;
    afterCodePaths?: Loaded;
    traceId?: Outcome<string>;
    afterTracingStart?: Loaded;
    /** After zod loaded (last in "main", after the SDK in "sdk-only"). */
    afterZod?: Loaded;
    /** zod's message for a number where a string was asked, and the type of its German locale's factory. */
    zodMessage?: Outcome<string>;
    zodLocale?: Outcome<string>;
    afterZodLocale?: Loaded;
}

/**
 * Run in a fresh Node.js process (so that this process's module cache, where ts-node has loaded TypeScript,
 * plays no part), started with Pulumi.yaml's `nodeargs` as the language host starts it (mode "sdk-only":
 * without them). Mode "main": main.js as pulumi runs it, with its build left out (ensureBuilt returns the
 * SDK's own entry point, so the "program" main.js loads is the SDK, which is what bin/index.js loads first);
 * then the run path's hooks awaited and its source-map-support installed (each required as cmd/run/index.js
 * requires it), a function's file asked of the serializer's session, the stack traces of a promise and a resource
 * taken, the function serializer, the code-path walk and the Automation API used once each, then zod loaded and
 * one of its locales used. Mode "tracing": the SDK run path's
 * tracing module loaded, then started as `pulumi --tracing` starts it (no span is sent: none ends), and a
 * span made. Mode "sdk-only": the SDK and the run path's tracing module loaded alone, then the run path's hooks
 * and the stack traces as in "main", then zod.
 * Prints a Report. All use Node's compile cache where scripts/startup.js keeps it, as every pulumi run does:
 * it spares them compiling the SDK and TypeScript again, and changes nothing about what loads.
 */
const PROBE = String.raw`
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const [root, mode, packageDir] = process.argv.slice(1);
const sdk = require.resolve("@pulumi/pulumi", { paths: [root] });
const tracingModule = path.join(path.dirname(sdk), "cmd", "run", "tracing.js");
const Module = require("module");
const inspector = require("inspector");
const { TRACING_DEFERRED, RUN_PATH, V8_HOOKS } = require(path.join(root, "scripts", "deferLoading.js"));
const { SOURCE_MAP_SUPPORT } = require(path.join(root, "scripts", "stackTraces.js"));
let sessions = 0;
const connect = inspector.Session.prototype.connect;
inspector.Session.prototype.connect = function () {
    sessions++;
    return connect.apply(this, arguments);
};
const loaded = () => {
    const files = Object.keys(require.cache);
    const has = (...parts) => files.some((f) => f.includes(path.sep + path.join(...parts) + path.sep));
    return {
        typescript: files.some((f) => path.basename(f) === "typescript.js"),
        arborist: has("@npmcli", "arborist"),
        normalizePackageData: has("normalize-package-data"),
        tracer: files.some((f) => TRACING_DEFERRED.some((m) => f.includes(path.sep + path.join(...m.split("/")) + path.sep))),
        automation: has("@pulumi", "pulumi", "automation"),
        zodLocales: files.some((f) => f.endsWith(path.join("zod", "v4", "locales", "index.cjs"))),
        sessions,
    };
};
// A require of the run path's, as Node makes it from cmd/run/index.js (that file itself needs an engine).
const runPathRequire = (request) => {
    const file = path.join(path.dirname(sdk), ...RUN_PATH.split(path.sep).slice(3));
    const parent = new Module(file);
    parent.filename = file;
    parent.paths = Module._nodeModulePaths(path.dirname(file));
    return Module._load(request, parent, false);
};
const runPathHooks = () => runPathRequire(V8_HOOKS).isInitializedAsync();
// The run path's source-map-support, then the stack traces the SDK takes for a promise and for a resource, the
// latter from a program's file whose map names program.ts (inline, in a folder made and removed here).
const stackTraces = (pulumi, report) => {
    runPathRequire(SOURCE_MAP_SUPPORT);
    const promise = Promise.resolve();
    require(path.join(path.dirname(sdk), "runtime", "debuggable.js")).debuggablePromise(promise, "probe");
    report.promiseFrame = promise._debugStackTrace.split("\n")[1];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eks-nginx-startup-program-"));
    try {
        const map = Buffer.from(JSON.stringify({ version: 3, sources: ["program.ts"], names: [], mappings: "AAAA" })).toString("base64");
        fs.writeFileSync(path.join(dir, "program.js"), "exports.where = (pulumi) => pulumi.Resource.callsites();\n" +
            "//# sourceMappingURL=data:application/json;base64," + map + "\n");
        const frames = require(path.join(dir, "program.js")).where(pulumi);
        report.resourceFrameFiles = [frames[0].file, frames[1].file];
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
};
const attempt = (f) => f().then((value) => ({ value }), (e) => ({ error: String(e?.stack ?? e) }));
(async () => {
    if (mode === "sdk-only") {
        const pulumi = require(sdk);
        require(tracingModule);
        const report = { afterSdk: loaded() };
        await runPathHooks();
        report.afterRunPathHooks = loaded();
        stackTraces(pulumi, report);
        require(require.resolve("zod", { paths: [root] }));
        report.afterZod = loaded();
        console.log(JSON.stringify(report));
        return;
    }
    if (mode === "tracing") {
        const tracing = require(tracingModule);
        const report = { afterSdk: loaded() };
        report.traceId = await attempt(async () => {
            tracing.start("http://127.0.0.1:9/api/v2/spans");
            return tracing.newSpan("probe").spanContext().traceId;
        });
        report.afterTracingStart = loaded();
        console.log(JSON.stringify(report));
        return;
    }
    require(path.join(root, "scripts", "build.js")).ensureBuilt = () => sdk;
    const pulumi = require(path.join(root, "main.js"));
    const report = { afterSdk: loaded() };
    await runPathHooks();
    report.afterRunPathHooks = loaded();
    const v8 = require(path.join(path.dirname(sdk), "runtime", "closure", "v8.js"));
    report.functionFile = await attempt(async () => (await v8.getFunctionLocationAsync(pulumi.output)).file);
    report.afterFunctionLocation = loaded();
    report.serialize = await attempt(async () => (await pulumi.runtime.serializeFunction(function answer() { return 6 * 7; })).text);
    report.afterSerialize = loaded();
    process.chdir(packageDir);
    report.codePaths = await attempt(async () => [...(await pulumi.runtime.computeCodePaths()).keys()]);
    report.afterCodePaths = loaded();
    stackTraces(pulumi, report);
    report.automationWorkspace = await attempt(async () => typeof pulumi.automation.LocalWorkspace.create);
    const { z } = require(require.resolve("zod", { paths: [root] }));
    report.afterZod = loaded();
    report.zodMessage = await attempt(async () => z.string().safeParse(42).error.issues[0].message);
    report.zodLocale = await attempt(async () => typeof z.locales.de);
    report.afterZodLocale = loaded();
    console.log(JSON.stringify(report));
})();
`;

/** Pulumi.yaml's `runtime.options.nodeargs`, split as the language host splits them (no quoting is used). */
function nodeargs(): string[] {
    const project = parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
    const args = project?.runtime?.options?.nodeargs;
    assert.strictEqual(typeof args, "string", "Pulumi.yaml: runtime.options.nodeargs is not set");
    return args.split(/\s+/).filter(Boolean);
}

async function probe(mode: "main" | "tracing" | "sdk-only", packageDir = ""): Promise<Report> {
    try {
        const env = { ...process.env, NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE || path.join(ROOT, "node_modules", ".cache", "node-compile-cache") };
        const args = [...(mode === "sdk-only" ? [] : nodeargs()), "-e", PROBE, ROOT, mode, packageDir];
        const { stdout } = await promisify(execFile)(process.execPath, args, { cwd: ROOT, env, encoding: "utf8" });
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

/** Nothing deferred loaded, no inspector session opened. */
const NONE: Loaded = { typescript: false, arborist: false, normalizePackageData: false, tracer: false, automation: false, zodLocales: false, sessions: 0 };

/**
 * The start-up deferrals (scripts/startup.js, loaded by Pulumi.yaml's nodeargs and by main.js;
 * scripts/deferLoading.js): the SDK's function serializer gets stand-ins for TypeScript's compiler, npm's
 * arborist and normalize-package-data, the SDK's index for its Automation API, and the run path's tracing
 * module for OpenTelemetry's tracer SDK and exporter, and zod for its locales, which load on first use; the run
 * path's inspector session opens on the serializer's first use. They rest on where the SDK and zod require them
 * and on a private Node.js API, so an upgrade of one could silently undo them or break the serializer, the
 * Automation API, tracing or zod: these fail then.
 */
describe("start-up: modules the SDK loads eagerly load on first use (scripts/startup.js)", function () {
    // Three Node.js processes, each loading the SDK (one TypeScript too): about 1 s, 3 s on a loaded machine.
    this.timeout(20000);
    let packageDir = "";
    let viaMain: Report;
    let viaTracing: Report;
    let sdkAlone: Report;

    before(async () => {
        // A package with one dependency, for the code-path walk (arborist reads its node_modules).
        packageDir = fs.mkdtempSync(path.join(os.tmpdir(), "eks-nginx-startup-"));
        fs.mkdirSync(path.join(packageDir, "node_modules", "left-pad"), { recursive: true });
        fs.writeFileSync(path.join(packageDir, "package.json"), JSON.stringify({ name: "probe", version: "1.0.0", dependencies: { "left-pad": "1.0.0" } }));
        fs.writeFileSync(path.join(packageDir, "node_modules", "left-pad", "package.json"), JSON.stringify({ name: "left-pad", version: "1.0.0" }));
        [viaMain, viaTracing, sdkAlone] = await Promise.all([probe("main", packageDir), probe("tracing"), probe("sdk-only")]);
    });
    after(() => fs.rmSync(packageDir, { recursive: true, force: true }));

    it("without the deferrals the SDK loads all of them as it loads, and the run path opens a session (else a deferral is dead code: remove it)", () => {
        assert.deepStrictEqual(sdkAlone.afterSdk, { typescript: true, arborist: true, normalizePackageData: true, tracer: true, automation: true, zodLocales: false, sessions: 0 },
            "the SDK no longer loads one of them as it loads: drop it from scripts/deferLoading.js's DEFERRED or TRACING_DEFERRED (all of one, or the automation: drop that deferral)");
        assert.strictEqual(sdkAlone.afterRunPathHooks?.sessions, 1,
            "the run path's v8Hooks.isInitializedAsync() no longer opens the inspector session: drop deferInspectorSession");
        assert.strictEqual(sdkAlone.afterZod?.zodLocales, true, "zod no longer loads its locales as it loads: drop deferZodLocales");
    });

    it("Pulumi.yaml's nodeargs load scripts/startup.js; as the program loads the SDK and the run path's hooks resolve, none of them loads and no session opens", () => {
        assert.deepStrictEqual(nodeargs(), ["--require", "./scripts/startup.js"]);
        assert.deepStrictEqual(viaMain.afterSdk, NONE,
            "loaded anyway: does scripts/startup.js still install the deferrals? Did an SDK upgrade move the requires of " +
            "@pulumi/pulumi/runtime/closure, index.js or cmd/run/tracing.js (scripts/deferLoading.js: DEFERRED, SERIALIZER, SDK_INDEX, AUTOMATION, TRACING)?");
        assert.deepStrictEqual(viaMain.afterRunPathHooks, NONE,
            "the run path's hooks opened the inspector session: did an SDK upgrade move its require (scripts/deferLoading.js: RUN_PATH, V8_HOOKS)?");
    });

    it("the serializer's session opens on first use, and V8 tells it where the functions compiled before are", () => {
        assert.match(valueOf("getFunctionLocationAsync", viaMain.functionFile), /[/\\]@pulumi[/\\]pulumi[/\\]output\.js$/);
        assert.deepStrictEqual(viaMain.afterFunctionLocation, { ...NONE, sessions: 1 });
    });

    it("the serializer still works: serializeFunction returns the function's text, and only then TypeScript loads", () => {
        assert.match(valueOf("serializeFunction", viaMain.serialize), /exports\.handler = __answer;[^]*return 6 \* 7;/);
        assert.deepStrictEqual(viaMain.afterSerialize, { ...NONE, typescript: true, sessions: 1 });
    });

    it("the code-path walk still works: computeCodePaths finds the dependency, and only then arborist and normalize-package-data load", () => {
        assert.deepStrictEqual(valueOf("computeCodePaths", viaMain.codePaths), ["node_modules/left-pad"]);
        assert.deepStrictEqual(viaMain.afterCodePaths, { ...NONE, typescript: true, arborist: true, normalizePackageData: true, sessions: 1 });
    });

    it("the Automation API still works through its stand-in: pulumi.automation.LocalWorkspace.create is a function", () => {
        assert.strictEqual(valueOf("pulumi.automation.LocalWorkspace", viaMain.automationWorkspace), "function");
    });

    it("the stack traces the SDK takes for its promises are not source-mapped (never shown without PULUMI_DEBUG_PROMISE_LEAKS); a resource's are in the program's files only", () => {
        assert.match(sdkAlone.promiseFrame ?? "", /debuggable\.ts:\d+:\d+\)$/,
            "without scripts/startup.js the run path's source-map-support no longer maps the SDK's promise stack traces: drop skipMappingUnshownStacks");
        assert.match(viaMain.promiseFrame ?? "", /^ {4}at (Object\.)?debuggablePromise \(.*[/\\]@pulumi[/\\]pulumi[/\\]runtime[/\\]debuggable\.js:\d+:\d+\)$/,
            "mapped anyway: did an SDK upgrade move its require of source-map-support or debuggablePromise (scripts/stackTraces.js)?");
        const [sdkAloneTop, sdkAloneProgram] = sdkAlone.resourceFrameFiles ?? [];
        assert.match(sdkAloneTop ?? "", /[/\\]resource\.ts$/,
            "without scripts/startup.js the run path's source-map-support no longer maps the SDK's frames of a resource's stack trace: drop that part of scripts/stackTraces.js");
        assert.match(sdkAloneProgram ?? "", /[/\\]program\.ts$/);
        const [top, program] = viaMain.resourceFrameFiles ?? [];
        assert.match(top ?? "", /[/\\]node_modules[/\\]@pulumi[/\\]pulumi[/\\]resource\.js$/,
            "the SDK's frame was mapped: did an SDK upgrade move Resource.callsites (scripts/stackTraces.js: RESOURCE)?");
        assert.match(program ?? "", /[/\\]program\.ts$/, "the program's frame was not mapped");
    });

    it("zod loads without its locales, its messages are English, and a locale still loads on first use (z.locales.de)", () => {
        assert.strictEqual(viaMain.afterZod?.zodLocales, false,
            "zod's locales loaded anyway: did a zod upgrade move its require of them (scripts/deferLoading.js: ZOD, ZOD_LOCALES)?");
        assert.strictEqual(valueOf("zod's message", viaMain.zodMessage), "Invalid input: expected string, received number");
        assert.strictEqual(valueOf("z.locales.de", viaMain.zodLocale), "function");
        assert.strictEqual(viaMain.afterZodLocale?.zodLocales, true);
    });

    it("tracing still works: the run path's tracing loads no tracer SDK until started, then makes real spans", () => {
        assert.deepStrictEqual(viaTracing.afterSdk, NONE);
        // OpenTelemetry's no-op tracer (what a failed start leaves) gives spans the all-zero trace id.
        assert.match(valueOf("tracing.start and newSpan", viaTracing.traceId), /^(?!0+$)[0-9a-f]{32}$/);
        assert.deepStrictEqual(viaTracing.afterTracingStart, { ...NONE, tracer: true });
    });
});
