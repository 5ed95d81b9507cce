// @ts-check
/**
 * The Node.js start-up of every pulumi run of this program (bench/results.md, "The program's start-up").
 * Pulumi.yaml's `nodeargs: --require ./scripts/startup.js` loads it before the SDK's run path, which loaded
 * about 470 modules before it ran the program (main.js), and 240 with this. main.js requires it too: a
 * no-op then (Node loads a module once), and under a language host that ignores `nodeargs` it still does
 * what can be done that late.
 * - Node.js keeps the compiled code of every module loaded from here on (the SDK's run path, the SDK, the
 *   Kubernetes SDK, the program) in its on-disk compile cache ($NODE_COMPILE_CACHE, else the project's
 *   node_modules/.cache, where tools keep their caches; keyed by file contents), instead of compiling them
 *   again on every run.
 * - Modules the SDK loads eagerly and this program never uses load on first use instead: TypeScript, npm's
 *   arborist and normalize-package-data (the function serializer's), the Automation API (the SDK index's),
 *   OpenTelemetry's tracer SDK and exporter (the run path's, for `pulumi --tracing`), zod's locales (the
 *   settings' schemas use English, which zod loads apart); and the inspector session
 *   that the run path opens, turning V8's debugger on for the whole run, opens when the serializer first needs
 *   it: scripts/deferLoading.js, checked by tests/startup.test.ts.
 * - The stack traces the SDK takes for its promises, printed only under PULUMI_DEBUG_PROMISE_LEAKS, are not
 *   source-mapped: scripts/stackTraces.js, checked by tests/stackTraces.test.ts and tests/startup.test.ts.
 */
"use strict";
const Module = require("module");
const path = require("path");
const { deferAutomation, deferInspectorSession, deferSerializerDependencies, deferTracingDependencies, deferZodLocales } = require("./deferLoading");
const { skipMappingUnshownStacks } = require("./stackTraces");

Module.enableCompileCache?.(process.env.NODE_COMPILE_CACHE || path.join(__dirname, "..", "node_modules", ".cache", "node-compile-cache"));
deferSerializerDependencies();
deferTracingDependencies();
deferAutomation();
deferInspectorSession();
deferZodLocales();
skipMappingUnshownStacks();
