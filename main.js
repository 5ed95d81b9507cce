// The program's entry point for `pulumi` (Pulumi.yaml: main: main.js). Runs bin/index.js, the program as tsc
// compiled it, after checking that bin/ was built, type-checked, from exactly the current sources; when it
// was not, it builds it first, and a type error stops the run here with tsc's messages (scripts/build.js).
// So every `pulumi preview`/`up` runs type-checked code, and pays for tsc only after a source changed.
"use strict";
const Module = require("module");
const path = require("path");
const { BuildError, ensureBuilt } = require("./scripts/build");

// Start-up (README, "Performance"). Node.js keeps the compiled code of the modules loaded from here on (the
// SDK, the Kubernetes SDK, the program) in its on-disk compile cache ($NODE_COMPILE_CACHE, else the project's
// node_modules/.cache, where tools keep their caches; keyed by file contents), instead of compiling them again
// on every run.
Module.enableCompileCache?.(process.env.NODE_COMPILE_CACHE || path.join(__dirname, "node_modules", ".cache", "node-compile-cache"));
// The SDK's index loads its function serializer (runtime/closure) eagerly, and with it TypeScript's compiler
// (8 MB of JavaScript) and @npmcli/arborist (about 450 modules). This program serializes no function, so
// these two load on first use instead: the serializer gets a stand-in that loads the module when touched.
deferLoading(["../../typescript-shim", "@npmcli/arborist"], `${path.sep}${path.join("@pulumi", "pulumi", "runtime", "closure")}${path.sep}`);

let entry;
try {
    entry = ensureBuilt({ root: __dirname, log: (line) => console.error(`[build] ${line}`) });
} catch (e) {
    if (e instanceof BuildError) {
        // Pulumi prints a RunError's message without a stack trace.
        const { RunError } = require("@pulumi/pulumi/errors");
        throw new RunError(e.message);
    }
    throw e;
}
module.exports = require(entry);

/**
 * `require(request)` from a module whose path contains `from` returns a stand-in that loads the real module
 * on first use (any property read, `in`, key listing); every other require is untouched.
 * @param {string[]} requests
 * @param {string} from
 */
function deferLoading(requests, from) {
    /** @type {any} */
    const M = Module;
    const load = M._load;
    M._load = function (/** @type {string} */ request, /** @type {NodeJS.Module | undefined} */ parent, /** @type {boolean} */ isMain) {
        if (!requests.includes(request) || !parent?.filename?.includes(from)) {
            return load.apply(this, arguments);
        }
        /** @type {any} */
        let real;
        const get = () => (real ??= load.call(this, request, parent, isMain));
        return new Proxy({}, {
            // `__esModule` keeps TypeScript's import helpers from copying (and so loading) the module at once.
            get: (_, key) => (key === "__esModule" && real === undefined ? true : get()[key]),
            has: (_, key) => key in get(),
            ownKeys: () => Reflect.ownKeys(get()),
            getOwnPropertyDescriptor: (_, key) => {
                const d = Reflect.getOwnPropertyDescriptor(get(), key);
                return d && { ...d, configurable: true };
            },
        });
    };
}
