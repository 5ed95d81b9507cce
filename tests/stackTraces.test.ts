import * as assert from "assert";
import * as path from "path";
import * as vm from "vm";
import { ROOT } from "../harness/mocks";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { unmappedStacks, DEBUGGABLE, RESOURCE } = require(path.join(ROOT, "scripts", "stackTraces.js"));

/** A stack trace taken in a function `name` of a file at `file`, formatted by `prepare`. */
function stackOf(prepare: (error: Error, frames: NodeJS.CallSite[]) => unknown, name: string, file: string): string {
    const take = vm.runInThisContext(`(function ${name}() { return new Error().stack; })`, { filename: file }) as () => string;
    const before = Error.prepareStackTrace;
    Error.prepareStackTrace = prepare;
    try {
        return take();
    } finally {
        Error.prepareStackTrace = before;
    }
}

/** A stack trace taken in `inner` of a file at `innerFile`, called by `outer` of a file at `outerFile`. */
function nestedStackOf(prepare: (error: Error, frames: NodeJS.CallSite[]) => unknown, inner: string, innerFile: string, outer: string, outerFile: string): string {
    const take = vm.runInThisContext(`(function ${inner}() { return new Error().stack; })`, { filename: innerFile }) as () => string;
    const call = vm.runInThisContext(`(function ${outer}(f) { return f(); })`, { filename: outerFile }) as (f: () => string) => string;
    const before = Error.prepareStackTrace;
    Error.prepareStackTrace = prepare;
    try {
        return call(take);
    } finally {
        Error.prepareStackTrace = before;
    }
}

/**
 * scripts/stackTraces.js: which stack traces skip the source maps. The start-up test (tests/startup.test.ts)
 * checks it on the SDK's own debuggablePromise and Resource.callsites; these check the rule.
 */
describe("start-up: stack traces are source-mapped only where a map says something (scripts/stackTraces.js)", () => {
    const mapped = () => "mapped";
    /** Stands for source-map-support's wrapCallSite: marks the frames it was given. */
    const wrap = (frame: NodeJS.CallSite) => ({ toString: () => `MAPPED ${frame.getFunctionName()}` });
    const sdkFile = (file: string) => path.join(path.sep, "app", "node_modules", ...file.split(path.sep).filter(Boolean));
    const programFile = path.join(path.sep, "app", "bin", "components", "webApp.js");

    it("the SDK's promise stack traces get V8's own text, naming the compiled file", () => {
        const text = stackOf(unmappedStacks(mapped, false, wrap), "debuggablePromise", sdkFile(DEBUGGABLE));
        assert.match(text.split("\n")[0], /^Error$/);
        assert.ok(text.split("\n")[1].startsWith(`    at debuggablePromise (${sdkFile(DEBUGGABLE)}:1:`), text);
    });

    it("a resource's stack trace: the program's frames mapped, those under node_modules V8's text, one line per frame", () => {
        const text = nestedStackOf(unmappedStacks(mapped, false, wrap), "callsites", sdkFile(RESOURCE), "WebApp", programFile);
        const lines = text.split("\n");
        assert.match(lines[0], /^Error$/);
        assert.ok(lines[1].startsWith(`    at callsites (${sdkFile(RESOURCE)}:1:`), text);
        assert.strictEqual(lines[2], "    at MAPPED WebApp", text);
        assert.ok(lines.slice(1).every((line) => line.startsWith("    at ")), text);
        // Below them, this test's frames (mapped) and mocha's (under node_modules, not).
        assert.ok(lines.some((line) => line.startsWith("    at MAPPED ")) && lines.slice(3).some((line) => line.includes(`${path.sep}node_modules${path.sep}mocha`)), text);
    });

    it("every other stack trace is mapped: another function, or the same name in another file", () => {
        assert.strictEqual(stackOf(unmappedStacks(mapped, false, wrap), "registerResource", sdkFile(DEBUGGABLE)), "mapped");
        assert.strictEqual(stackOf(unmappedStacks(mapped, false, wrap), "debuggablePromise", path.join(path.sep, "app", "debuggable.js")), "mapped");
        assert.strictEqual(stackOf(unmappedStacks(mapped, false, wrap), "callsites", path.join(path.sep, "app", "resource.js")), "mapped");
    });

    it("with PULUMI_DEBUG_PROMISE_LEAKS (they are printed then) the promises' are mapped", () => {
        assert.strictEqual(stackOf(unmappedStacks(mapped, true, wrap), "debuggablePromise", sdkFile(DEBUGGABLE)), "mapped");
    });

    it("without source-map-support's wrapCallSite, a resource's stack trace is mapped whole", () => {
        assert.strictEqual(stackOf(unmappedStacks(mapped, false, undefined), "callsites", sdkFile(RESOURCE)), "mapped");
    });
});
