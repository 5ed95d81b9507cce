// The program's entry point for `pulumi` (Pulumi.yaml: main: main.js). Runs bin/index.js, the program as tsc
// compiled it, after checking that bin/ was built, type-checked, from exactly the current sources; when it
// was not, it builds it first, and a type error stops the run here with tsc's messages (scripts/build.js).
// So every `pulumi preview`/`up` runs type-checked code, and pays for tsc only after a source changed.
"use strict";
// Start-up: the compile cache and the deferred modules (scripts/startup.js). Pulumi.yaml's nodeargs load it
// before the SDK's run path; this require is then a no-op.
require("./scripts/startup");
const { BuildError, ensureBuilt } = require("./scripts/build");

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
