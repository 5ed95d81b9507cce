// @ts-check
/**
 * Start-up (main.js; README, "Performance"). The SDK's index loads its function serializer
 * (@pulumi/pulumi/runtime/closure) eagerly, and the serializer loads TypeScript's compiler (8.7 MiB of
 * JavaScript, through the SDK's typescript-shim) and npm's @npmcli/arborist (with its dependencies about 450
 * modules) as it loads.
 * This program serializes no function and computes no code paths, so these two load on first use instead:
 * the serializer gets a stand-in for each that loads the real module when touched.
 *
 * Why `Module._load`, which is not a public API, and not the public synchronous module hooks
 * (`module.registerHooks`, a release candidate in Node 24, used without a warning): hooks choose
 * which file a require loads, not what it returns. The deferral would still need this stand-in, served as
 * generated source under an invented file name beside the real one (a `?query` on the real file's URL does not
 * do: CommonJS keys its cache by the path without it, so the stand-in would find itself when it loads the
 * real module), and every require of the run would go through the hooks: 4 to 11 % more CPU than this
 * wrapper over loading the Pulumi, Kubernetes, AWS and EKS SDKs (750 modules; paired whole-process runs,
 * three series of 30 to 40). What the wrapper rests on (where the SDK requires the two, and Node calling
 * `Module._load` for every require) is checked by tests/startup.test.ts: it fails when main.js no longer
 * defers them, when the serializer or the code-path walk stops working through the stand-ins, and when the
 * SDK stops loading them eagerly (the deferral would then be dead code).
 */
"use strict";
const Module = require("module");
const path = require("path");

/** Where the requests are deferred: the modules of the SDK's function serializer. */
const SERIALIZER = `${path.sep}${path.join("@pulumi", "pulumi", "runtime", "closure")}${path.sep}`;
/** What they require and this program never uses: TypeScript (parseFunction.js), arborist (codePaths.js). */
const DEFERRED = ["../../typescript-shim", "@npmcli/arborist"];

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

/** main.js's set-up: the SDK's function serializer loads TypeScript and arborist on first use. */
function deferSerializerDependencies() {
    deferLoading(DEFERRED, SERIALIZER);
}

module.exports = { deferLoading, deferSerializerDependencies, DEFERRED, SERIALIZER };
