// @ts-check
/**
 * Start-up (scripts/startup.js; bench/results.md, "The program's start-up"): stack traces are source-mapped
 * only where a map says something.
 *
 * The SDK's run path installs source-map-support (`source-map-support/register`), which maps every stack trace
 * through the source maps of the files in it: for each frame it copies the frame and looks its position up, and
 * it parses each file's map the first time. Two kinds of stack traces the SDK takes are changed:
 * - For every promise it makes to wait on an RPC (`debuggablePromise`, @pulumi/pulumi/runtime/debuggable.js:
 *   `new Error().stack`, read at once), to name where a promise was made when the run ends with promises left
 *   (a leak). It prints those traces only when `PULUMI_DEBUG_PROMISE_LEAKS` is set. In a no-op preview of this
 *   program, mapping stack traces was 18 % of the Node.js process's CPU samples, about half of it for those (a
 *   CPU profile on 12-01). Without the variable, those traces get V8's own text (the compiled files' positions).
 * - For every resource (`Resource.callsites`, @pulumi/pulumi/resource.js): its source position and the stack
 *   trace sent to the engine, which keeps the position in the state. Its frames in the program's own files are
 *   mapped as before (a Deployment's position stays components/webApp.ts's line); those of files under
 *   node_modules get V8's text. The packages there ship maps whose sources they do not ship: the stack's own
 *   position was node_modules/@pulumi/runtime/stack.ts, a file that does not exist, and is now the
 *   @pulumi/pulumi/runtime/stack.js that runs. Mapping them was about 50 ms of one `pulumi up`'s CPU, most of
 *   it parsing the SDK's maps for the stack's registration, before the program runs (a CPU profile on 12-02).
 * Every other stack trace (errors above all) is mapped as before.
 */
"use strict";
const Module = require("module");
const path = require("path");
const { onFirstLoad, RUN_PATH } = require("./deferLoading");

/** The run path's require of source-map-support (from RUN_PATH), and where the SDK makes its promises. */
const SOURCE_MAP_SUPPORT = "source-map-support/register";
const DEBUGGABLE = `${path.sep}${path.join("@pulumi", "pulumi", "runtime", "debuggable.js")}`;
/** Where the SDK takes a resource's stack trace (Resource.callsites). */
const RESOURCE = `${path.sep}${path.join("@pulumi", "pulumi", "resource.js")}`;
const NODE_MODULES = `${path.sep}node_modules${path.sep}`;

/**
 * @typedef {{ nextPosition: unknown, curPosition: unknown }} WrapState
 * @typedef {(frame: NodeJS.CallSite, state: WrapState) => NodeJS.CallSite} WrapCallSite
 */

/**
 * A resource's stack trace: each frame of a file under node_modules as V8 gives it, each other one mapped by
 * `wrapCallSite` as source-map-support's own prepareStackTrace maps it (from the bottom up, so that a frame
 * takes its function's name from the map of the frame it called; a frame left alone passes no name on, as a
 * native one does).
 * @param {Error} error
 * @param {NodeJS.CallSite[]} frames
 * @param {WrapCallSite} wrapCallSite
 */
function programFramesMapped(error, frames, wrapCallSite) {
    /** @type {WrapState} */
    const state = { nextPosition: null, curPosition: null };
    const lines = new Array(frames.length);
    for (let i = frames.length - 1; i >= 0; i--) {
        const frame = frames[i];
        if (frame.getFileName()?.includes(NODE_MODULES)) {
            lines[i] = `    at ${frame}`;
            state.curPosition = null;
        } else {
            lines[i] = `    at ${wrapCallSite(frame, state)}`;
        }
        state.nextPosition = state.curPosition;
    }
    return [String(error), ...lines].join("\n");
}

/**
 * `mapped` (an `Error.prepareStackTrace`) for every stack trace but those that debuggablePromise takes, which
 * get V8's default text unless `showPromiseStacks`, and those that Resource.callsites takes, whose frames in
 * node_modules get it (when `wrapCallSite`, source-map-support's, is given).
 * @param {(error: Error, frames: NodeJS.CallSite[]) => unknown} mapped
 * @param {boolean} showPromiseStacks
 * @param {WrapCallSite} [wrapCallSite]
 */
function unmappedStacks(mapped, showPromiseStacks, wrapCallSite) {
    return function prepareStackTrace(/** @type {Error} */ error, /** @type {NodeJS.CallSite[]} */ frames) {
        const top = frames[0];
        const name = top?.getFunctionName();
        if (!showPromiseStacks && name === "debuggablePromise" && top.getFileName()?.endsWith(DEBUGGABLE)) {
            return [String(error), ...frames.map((frame) => `    at ${frame}`)].join("\n");
        }
        if (wrapCallSite && name === "callsites" && top.getFileName()?.endsWith(RESOURCE)) {
            return programFramesMapped(error, frames, wrapCallSite);
        }
        return mapped(error, frames);
    };
}

/**
 * Once the run path has installed source-map-support, its `Error.prepareStackTrace` leaves those traces out,
 * using the same source-map-support's `wrapCallSite` (and so its cache of parsed maps) for the rest.
 */
function skipMappingUnshownStacks() {
    onFirstLoad(SOURCE_MAP_SUPPORT, RUN_PATH, (_exports, from) => {
        if (Error.prepareStackTrace) {
            const { wrapCallSite } = Module.createRequire(from)(SOURCE_MAP_SUPPORT.replace(/\/register$/, ""));
            Error.prepareStackTrace = unmappedStacks(Error.prepareStackTrace, !!process.env.PULUMI_DEBUG_PROMISE_LEAKS,
                typeof wrapCallSite === "function" ? wrapCallSite : undefined);
        }
    });
}

module.exports = { skipMappingUnshownStacks, unmappedStacks, SOURCE_MAP_SUPPORT, DEBUGGABLE, RESOURCE };
