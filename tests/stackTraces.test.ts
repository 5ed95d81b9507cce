import * as assert from "assert";
import * as path from "path";
import * as vm from "vm";
import { ROOT } from "../harness/mocks";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { unmappedPromiseStacks, DEBUGGABLE } = require(path.join(ROOT, "scripts", "stackTraces.js"));

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

/**
 * scripts/stackTraces.js: which stack traces skip the source maps. The start-up test (tests/startup.test.ts)
 * checks it on the SDK's own debuggablePromise; these check the rule.
 */
describe("start-up: stack traces nobody is shown are not source-mapped (scripts/stackTraces.js)", () => {
    const mapped = () => "mapped";
    const sdkFile = path.join(path.sep, "app", "node_modules", ...DEBUGGABLE.split(path.sep).filter(Boolean));

    it("the SDK's promise stack traces get V8's own text, naming the compiled file", () => {
        const text = stackOf(unmappedPromiseStacks(mapped, false), "debuggablePromise", sdkFile);
        assert.match(text.split("\n")[0], /^Error$/);
        assert.ok(text.split("\n")[1].startsWith(`    at debuggablePromise (${sdkFile}:1:`), text);
    });

    it("every other stack trace is mapped: another function, or the same name in another file", () => {
        assert.strictEqual(stackOf(unmappedPromiseStacks(mapped, false), "registerResource", sdkFile), "mapped");
        assert.strictEqual(stackOf(unmappedPromiseStacks(mapped, false), "debuggablePromise", path.join(path.sep, "app", "debuggable.js")), "mapped");
    });

    it("with PULUMI_DEBUG_PROMISE_LEAKS (they are printed then) all are mapped", () => {
        assert.strictEqual(unmappedPromiseStacks(mapped, true), mapped);
    });
});
