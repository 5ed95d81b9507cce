// @ts-check
/**
 * Start-up (scripts/startup.js; bench/results.md, "The program's start-up"). Parts of the SDK, and zod, load
 * as they load modules that this program never uses; here they get stand-ins that load the real module on
 * first use:
 * - The SDK's index loads its function serializer (@pulumi/pulumi/runtime/closure) eagerly, and the
 *   serializer loads TypeScript's compiler (8.7 MiB of JavaScript, through the SDK's typescript-shim) and
 *   npm's @npmcli/arborist (with its dependencies about 450 modules) as it loads. This program serializes no
 *   function and computes no code paths.
 *   Its code-path walk also loads normalize-package-data (with the SPDX licence tables, sorted as it loads).
 * - The SDK's index loads its Automation API (@pulumi/pulumi/automation, about 60 modules: execa, the
 *   workspace, its gRPC servers), which drives the pulumi CLI from a program; this program is what the CLI
 *   runs.
 * - The SDK's run path (@pulumi/pulumi/cmd/run/tracing.js), which starts every program, loads OpenTelemetry's
 *   tracer SDK, resources, Zipkin exporter and gRPC instrumentation (about 220 modules) as it loads; it uses
 *   them only in `start()`, when a run is traced (`pulumi --tracing`).
 * - zod (the settings' schemas, stacks/) loads all of its locales as its API and its core load (64 modules,
 *   for `z.locales`); the program's messages are its own, and zod's English locale loads apart.
 * - The run path also opens an inspector session in this process and turns V8's debugger on
 *   (`Debugger.enable`, @pulumi/pulumi/runtime/closure/v8Hooks.js) before it runs the program: from then on
 *   V8 reports every script it compiles, the whole program's modules, to a listener that keeps their urls
 *   for the serializer's messages. Here a session opens when the serializer first asks for one, with its
 *   listener added before the debugger turns on, so that it hears V8 report the scripts compiled until then
 *   (deferInspectorSession).
 *
 * Why `Module._load`, which is not a public API, and not the public synchronous module hooks
 * (`module.registerHooks`, a release candidate in Node 24, used without a warning): hooks choose
 * which file a require loads, not what it returns. The deferral would still need this stand-in, served as
 * generated source under an invented file name beside the real one (a `?query` on the real file's URL does not
 * do: CommonJS keys its cache by the path without it, so the stand-in would find itself when it loads the
 * real module), and every require of the run would go through the hooks: 4 to 11 % more CPU than this
 * wrapper over loading the Pulumi, Kubernetes, AWS and EKS SDKs (750 modules; paired whole-process runs,
 * three series of 30 to 40). What the wrapper rests on (where the SDK requires these, and Node calling
 * `Module._load` for every require) is checked by tests/startup.test.ts: it fails when start-up no longer
 * defers them, when the serializer, the code-path walk or tracing stops working through the stand-ins, and
 * when the SDK stops loading them eagerly (the deferral would then be dead code).
 */
"use strict";
const Module = require("module");
const path = require("path");

/** Where the requests are deferred: the modules of the SDK's function serializer. */
const SERIALIZER = `${path.sep}${path.join("@pulumi", "pulumi", "runtime", "closure")}${path.sep}`;
/**
 * What they require and this program never uses: TypeScript (parseFunction.js), arborist and
 * normalize-package-data (codePaths.js).
 */
const DEFERRED = ["../../typescript-shim", "@npmcli/arborist", "normalize-package-data"];
/** The SDK's index, and its Automation API. */
const SDK_INDEX = `${path.sep}${path.join("@pulumi", "pulumi", "index.js")}`;
const AUTOMATION = "./automation";
/** zod 4's modules, and their require of the index of its locales (classic/external.cjs, core/index.cjs). */
const ZOD = `${path.sep}${path.join("zod", "v4")}${path.sep}`;
const ZOD_LOCALES = "../locales/index.cjs";
/** The run path's entry point, and its require of the module that turns V8's debugger on. */
const RUN_PATH = `${path.sep}${path.join("@pulumi", "pulumi", "cmd", "run", "index.js")}`;
const V8_HOOKS = "../../runtime/closure/v8Hooks";
/** The run path's tracing module, and what it requires for `start()` only (destructured as it loads). */
const TRACING = `${path.sep}${path.join("@pulumi", "pulumi", "cmd", "run", "tracing.js")}`;
const TRACING_DEFERRED = ["@opentelemetry/resources", "@opentelemetry/sdk-trace-base", "@opentelemetry/exporter-zipkin",
    "@opentelemetry/instrumentation-grpc", "@opentelemetry/sdk-trace-node", "@opentelemetry/instrumentation"];

/**
 * `require(request)` from a module whose path contains `from` returns a stand-in that loads the real module
 * on first use; every other require is untouched. Two shapes:
 * - "module", for `const m = require(...)` used later: the stand-in is the module, loaded on any property
 *   read, `in` or key listing;
 * - "members", for `const { A, f } = require(...)` as the requiring module loads, with A and f only called
 *   later: each property read gives a stand-in function that loads the module when it is called or
 *   constructed (or one of its own properties is read, so `instanceof` works too).
 * @param {string[]} requests
 * @param {string} from
 * @param {"module" | "members"} [shape]
 */
function deferLoading(requests, from, shape = "module") {
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
        if (shape === "members") {
            /** @type {Map<string | symbol, any>} */
            const members = new Map();
            const member = (/** @type {string | symbol} */ key) => {
                /** @type {any} */
                const stand = new Proxy(function () {}, {
                    apply: (_, self, args) => Reflect.apply(get()[key], self, args),
                    construct: (_, args, newTarget) => /** @type {object} */ (Reflect.construct(get()[key], args, newTarget === stand ? get()[key] : newTarget)),
                    get: (_, prop) => get()[key][prop],
                });
                return stand;
            };
            return new Proxy({}, {
                get: (_, key) => {
                    if (key === "__esModule" && real === undefined) {
                        return true;
                    }
                    if (!members.has(key)) {
                        members.set(key, member(key));
                    }
                    return members.get(key);
                },
            });
        }
        return new Proxy({}, {
            // `__esModule` keeps TypeScript's import helpers from copying (and so loading) the module at once;
            // `default` is then what `__importDefault` would have given: a CommonJS module's exports.
            get: (_, key) => {
                if (key === "__esModule" && real === undefined) {
                    return true;
                }
                const m = get();
                return key === "default" && !m.__esModule ? m : m[key];
            },
            has: (_, key) => key in get(),
            ownKeys: () => Reflect.ownKeys(get()),
            getOwnPropertyDescriptor: (_, key) => {
                const d = Reflect.getOwnPropertyDescriptor(get(), key);
                return d && { ...d, configurable: true };
            },
        });
    };
}

/** The SDK's function serializer loads TypeScript, arborist and normalize-package-data on first use. */
function deferSerializerDependencies() {
    deferLoading(DEFERRED, SERIALIZER);
}

/** The run path's tracing loads OpenTelemetry's tracer SDK and exporter when a run is traced. */
function deferTracingDependencies() {
    deferLoading(TRACING_DEFERRED, TRACING, "members");
}

/** The SDK's Automation API loads on first use (`pulumi.automation.…`). */
function deferAutomation() {
    deferLoading([AUTOMATION], SDK_INDEX);
}

/** zod's locales load on first use (`z.locales.…`). */
function deferZodLocales() {
    deferLoading([ZOD_LOCALES], ZOD);
}

/**
 * Calls `change` with the exports of `request` and the requiring module's file once, the first time a module
 * whose path ends with `from` requires it (after it loaded); every require is otherwise untouched.
 * @param {string} request
 * @param {string} from
 * @param {(exports: any, file: string) => void} change
 */
function onFirstLoad(request, from, change) {
    /** @type {any} */
    const M = Module;
    const load = M._load;
    let done = false;
    M._load = function (/** @type {string} */ req, /** @type {NodeJS.Module | undefined} */ parent) {
        const exports = load.apply(this, arguments);
        if (!done && req === request && parent?.filename?.endsWith(from)) {
            done = true;
            change(exports, parent.filename);
        }
        return exports;
    };
}

/**
 * The run path's `v8Hooks.isInitializedAsync()`, which it awaits before it runs the program, resolves without
 * opening the inspector session; the session opens on the serializer's first `getSessionAsync()`. v8Hooks'
 * own session adds its `Debugger.scriptParsed` listener only once the debugger is on, so it hears of the
 * scripts compiled after that alone: opened late, it would know none of the program's (a function's file is
 * left out of the serializer's messages). This one adds it first, and so hears V8 report every script compiled
 * before, as V8 does when its debugger turns on. The module is v8Hooks itself, with these three functions
 * replaced on its exports, which the serializer (runtime/closure/v8.js) reads at each call.
 */
function deferInspectorSession() {
    onFirstLoad(V8_HOOKS, RUN_PATH, (hooks) => {
        /** @type {Map<string, string>} */
        const urls = new Map();
        /** @type {Promise<import("inspector").Session> | undefined} */
        let session;
        const open = async () => {
            const s = new (require("inspector").Session)();
            s.connect();
            s.on("Debugger.scriptParsed", ({ params }) => urls.set(params.scriptId, params.url));
            await new Promise((resolve, reject) => s.post("Debugger.enable", (err) => (err ? reject(err) : resolve(undefined))));
            return s;
        };
        hooks.getSessionAsync = () => (session ??= open());
        hooks.isInitializedAsync = async () => {};
        hooks.getScriptUrl = (/** @type {string} */ id) => urls.get(id);
    });
}

module.exports = {
    deferLoading, onFirstLoad, deferSerializerDependencies, deferTracingDependencies, deferAutomation, deferInspectorSession, deferZodLocales,
    DEFERRED, SERIALIZER, TRACING, TRACING_DEFERRED, SDK_INDEX, AUTOMATION, RUN_PATH, V8_HOOKS, ZOD, ZOD_LOCALES,
};
