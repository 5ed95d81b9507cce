// The program's entry point for `pulumi` (Pulumi.yaml: main: main.js). Runs bin/index.js, the program as tsc
// compiled it, after checking that bin/ was built, type-checked, from exactly the current sources; when it
// was not, it builds it first, and a type error stops the run here with tsc's messages (scripts/build.js).
// So every `pulumi preview`/`up` runs type-checked code, and pays for tsc only after a source changed.
"use strict";
const Module = require("module");
const path = require("path");
const { BuildError, ensureBuilt } = require("./scripts/build");
const { deferSerializerDependencies } = require("./scripts/deferLoading");

// Start-up (README, "Performance"). Node.js keeps the compiled code of the modules loaded from here on (the
// SDK, the Kubernetes SDK, the program) in its on-disk compile cache ($NODE_COMPILE_CACHE, else the project's
// node_modules/.cache, where tools keep their caches; keyed by file contents), instead of compiling them again
// on every run.
Module.enableCompileCache?.(process.env.NODE_COMPILE_CACHE || path.join(__dirname, "node_modules", ".cache", "node-compile-cache"));
// The SDK's function serializer loads TypeScript's compiler and npm's arborist on first use instead of at
// start-up (scripts/deferLoading.js; tests/startup.test.ts checks that it still applies and still works).
deferSerializerDependencies();

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
