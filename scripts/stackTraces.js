// @ts-check
/**
 * Start-up (scripts/startup.js; bench/results.md, "The program's start-up"): stack traces that nobody is shown
 * are not source-mapped.
 *
 * The SDK's run path installs source-map-support (`source-map-support/register`), which maps every stack trace
 * through the source maps of the files in it: for each frame it copies the frame and looks its position up, and
 * it parses each file's map the first time. The SDK takes a stack trace for every promise it makes to wait on
 * an RPC (`debuggablePromise`, @pulumi/pulumi/runtime/debuggable.js: `new Error().stack`, read at once), to name
 * where a promise was made when the run ends with promises left (a leak). It prints those traces only when
 * `PULUMI_DEBUG_PROMISE_LEAKS` is set. In a no-op preview of this program, mapping stack traces was 18 % of the
 * Node.js process's CPU samples, about half of it for those (a CPU profile on 12-01). Without the variable, those
 * traces get V8's own text (the compiled files' positions); every other stack trace (errors, the resources'
 * source positions and stack traces that the SDK sends to the engine) is mapped as before.
 */
"use strict";
const path = require("path");
const { onFirstLoad, RUN_PATH } = require("./deferLoading");

/** The run path's require of source-map-support (from RUN_PATH), and where the SDK makes its promises. */
const SOURCE_MAP_SUPPORT = "source-map-support/register";
const DEBUGGABLE = `${path.sep}${path.join("@pulumi", "pulumi", "runtime", "debuggable.js")}`;

/**
 * `mapped` (an `Error.prepareStackTrace`) for every stack trace but those that debuggablePromise takes, which
 * get V8's default text unless `showPromiseStacks`.
 * @param {(error: Error, frames: NodeJS.CallSite[]) => unknown} mapped
 * @param {boolean} showPromiseStacks
 */
function unmappedPromiseStacks(mapped, showPromiseStacks) {
    if (showPromiseStacks) {
        return mapped;
    }
    return function prepareStackTrace(/** @type {Error} */ error, /** @type {NodeJS.CallSite[]} */ frames) {
        const top = frames[0];
        if (top && top.getFunctionName() === "debuggablePromise" && top.getFileName()?.endsWith(DEBUGGABLE)) {
            return [String(error), ...frames.map((frame) => `    at ${frame}`)].join("\n");
        }
        return mapped(error, frames);
    };
}

/** Once the run path has installed source-map-support, its `Error.prepareStackTrace` leaves those traces out. */
function skipMappingUnshownStacks() {
    onFirstLoad(SOURCE_MAP_SUPPORT, RUN_PATH, () => {
        if (Error.prepareStackTrace) {
            Error.prepareStackTrace = unmappedPromiseStacks(Error.prepareStackTrace, !!process.env.PULUMI_DEBUG_PROMISE_LEAKS);
        }
    });
}

module.exports = { skipMappingUnshownStacks, unmappedPromiseStacks, SOURCE_MAP_SUPPORT, DEBUGGABLE };
