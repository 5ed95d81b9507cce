/**
 * npm run test:aws, apart from AWS: the run itself. Its arguments (arguments.ts), the checks before anything is
 * created (preflight.ts), the plan with its rough cost (plan.ts), the confirmation (confirm.ts), then the stack's
 * creation, the steps, and the cleanup (cleanup.ts) that follows whatever happens (a failed step, an exception,
 * SIGINT/SIGTERM/SIGHUP). Every effect goes through `Deps` (deps.ts: commands, prompt, environment, files, clock,
 * signals, the steps' process), so the unit suite (tests/aws/*.test.ts) runs all of it with fakes.
 *
 * tests/aws/main.ts gives the real dependencies; tests/aws/steps.ts runs the tutorial's steps in a process of its
 * own (so that this one stays responsive to signals while a `pulumi up` runs).
 */
import * as path from "path";
import { newStackName, Options, parseArgs, UsageError, USAGE } from "./arguments";
import { cleanup, CleanupReport, describeLeftovers, exportState } from "./cleanup";
import { confirm } from "./confirm";
import { Deps, Env, lastLine, StepsHandle, StepsOutcome } from "./deps";
import { devStack } from "./devStack";
import { planText } from "./plan";
import { preflight, Preflight } from "./preflight";
import { StateEnv, stateEnv } from "./stateBackend";

/** How long a stopped step may take to finish what pulumi has in flight (creating an EKS cluster takes ~10 min). */
export const STEP_STOP_TIMEOUT_MS = 30 * 60_000;

const SIGNAL_EXIT: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

interface RunState {
    interrupted?: string;
    interruptedAt?: number;
    cleaning: boolean;
    steps?: StepsHandle;
}

async function waitForSteps(h: StepsHandle, run: RunState, d: Deps): Promise<StepsOutcome & { killed: boolean }> {
    let result: { outcome?: StepsOutcome; error?: unknown } | undefined;
    const settled = h.done.then((outcome) => (result = { outcome }), (error) => (result = { error }));
    let killed = false;
    const limit = d.stepStopTimeoutMs ?? STEP_STOP_TIMEOUT_MS;
    while (!result) {
        // Each second: has a stopped step overrun its time?
        await Promise.race([settled, d.sleep(1000)]);
        if (!killed && run.interruptedAt !== undefined && d.now() - run.interruptedAt > limit) {
            d.print(`[test:aws] the stopped step has not ended after ${Math.round(limit / 60_000)} min: killing it (SIGKILL); ` +
                "what pulumi had in flight is listed below if it is not in the stack");
            h.kill();
            killed = true;
        }
    }
    if (result.error !== undefined) {
        throw result.error;
    }
    return { ...result.outcome!, killed };
}

function finish(d: Deps, o: { stack: string; dir?: string; steps: string; report?: CleanupReport; failed: boolean; interrupted?: string; region?: string }): number {
    d.print("");
    d.print(`test:aws: ${o.steps}`);
    const r = o.report;
    if (r && r.removed && r.leftovers.length === 0) {
        d.print(`test:aws: cleanup: every resource destroyed, stack ${o.stack} empty and removed`);
    } else if (r) {
        d.print(`test:aws: LEFT BEHIND after the cleanup (they cost money until removed):`);
        r.leftovers.forEach((l) => d.print(`  - ${l}`));
        if (!r.removed) {
            d.print(`  retry: npm run test:aws -- --cleanup ${o.stack}${o.region ? ` --region ${o.region}` : ""}` +
                `${o.dir ? `   (project copy and stack config kept in ${o.dir})` : ""}`);
        }
    }
    if (r && r.leftovers.length > 0) {
        return 3;
    }
    if (o.interrupted) {
        return SIGNAL_EXIT[o.interrupted] ?? 130;
    }
    return o.failed ? 1 : 0;
}

export async function main(argv: string[], d: Deps): Promise<number> {
    let o: Options;
    try {
        o = parseArgs(argv);
    } catch (e) {
        if (e instanceof UsageError) {
            d.print(`test:aws: ${e.message}`);
            d.print("see npm run test:aws -- --help");
            return 2;
        }
        throw e;
    }
    if (o.help) {
        d.print(USAGE);
        return 0;
    }
    const pre = await preflight(o, d);
    if (pre.problems.length > 0) {
        d.print(`test:aws: cannot start; nothing was created:`);
        pre.problems.forEach((p) => d.print(`  - ${p}`));
        return 1;
    }
    const state = stateEnv(d.env, d.repo);
    return o.cleanup ? cleanupOnly(o, o.cleanup, pre, state, d) : runTutorial(o, pre, state, d);
}

async function runTutorial(o: Options, pre: Preflight, state: StateEnv, d: Deps): Promise<number> {
    const region = pre.region!;
    const stack = o.stack ?? newStackName(d.now(), d.random());
    const workDir = path.join(d.repo, ".test-aws", stack);
    const dev = devStack(d.repo, d.readFile);
    if (dev.cluster.deletionProtection) {
        d.print("test:aws: Pulumi.dev.yaml sets cluster.deletionProtection true: the run could not destroy the cluster it would make " +
            "(EKS and Pulumi's protect both refuse), so it does not start; nothing was created.");
        return 1;
    }
    planText({ stack, region, identity: pre.identity, backend: state.backend, workDir, dev }).forEach((l) => d.print(l));
    const answer = await confirm("Create these resources and run the tutorial on them?", o, d);
    if (!answer.ok) {
        d.print(`test:aws: ${answer.why}; nothing was created.`);
        return 1;
    }

    const run: RunState = { cleaning: false };
    const off = d.onSignal((signal) => {
        if (run.cleaning) {
            d.print(`[test:aws] ${signal}: the cleanup goes on until the stack is destroyed and removed (its commands do not get the signal). ` +
                `To abandon it anyway, kill this process with SIGKILL; then: npm run test:aws -- --cleanup ${stack}`);
            return;
        }
        if (run.interrupted) {
            d.print(`[test:aws] ${signal} again: still stopping; pulumi finishes what it has in flight, then the cleanup runs (it is not skipped)`);
            return;
        }
        run.interrupted = signal;
        run.interruptedAt = d.now();
        d.print(`[test:aws] ${signal}: stopping. pulumi finishes the operations in flight (creating an EKS cluster may take 10 minutes more), ` +
            "then everything is destroyed");
        run.steps?.interrupt();
    });
    const env: Env = { ...state.env, AWS_REGION: region };
    const pulumi = (dir: string, args: string[]) => d.exec({ cmd: "pulumi", args: ["--non-interactive", ...args], cwd: dir, env: { ...d.env, ...env } });
    let dir: string | undefined;
    let stackCreated = false;
    let outcome: (StepsOutcome & { killed: boolean }) | undefined;
    let error: string | undefined;
    let report: CleanupReport | undefined;
    try {
        dir = await d.prepareWork(stack, state, "new");
        d.print(`[test:aws] pulumi stack init ${stack} (${state.backend})`);
        const init = await pulumi(dir, ["stack", "init", stack, "--secrets-provider", "passphrase"]);
        if (init.code !== 0) {
            // Not ours to destroy: it may be another run's stack of the same name.
            throw new Error(`pulumi stack init ${stack} failed: ${lastLine(init.stderr) || `exit ${init.code}`}`);
        }
        stackCreated = true;
        for (const args of [["config", "set", "aws:region", region], ["config", "set", "--path", "cluster.tags.stage", "test-aws"],
            ["config", "set", "--path", "cluster.tags.test-stack", stack]]) {
            if (run.interrupted) {
                break;
            }
            const r = await pulumi(dir, [...args, "--stack", stack]);
            if (r.code !== 0) {
                throw new Error(`pulumi ${args.join(" ")} failed: ${lastLine(r.stderr) || `exit ${r.code}`}`);
            }
        }
        if (!run.interrupted) {
            run.steps = d.startSteps({ stack, dir, region, env, dnsTimeoutSeconds: o.dnsTimeoutSeconds });
            outcome = await waitForSteps(run.steps, run, d);
        }
    } catch (e) {
        error = (e as Error).message;
        d.print(`[test:aws] error: ${error}`);
    } finally {
        run.cleaning = true;
        if (stackCreated) {
            report = await cleanup({ stack, dir: dir!, region, env, unclean: run.interrupted !== undefined || outcome?.killed === true ||
                (outcome !== undefined && outcome.code > 128), loadBalancer: outcome?.loadBalancer }, d);
            if (report.removed && report.leftovers.length === 0) {
                d.removeWork(dir!);
            }
        } else if (dir) {
            d.removeWork(dir);
        }
        off();
    }
    const steps = outcome
        ? `${outcome.passed} passed, ${outcome.failed} failed${outcome.notRun ? `, ${outcome.notRun} not run` : ""} (of ${outcome.total} steps)` +
          `${run.interrupted ? `; interrupted by ${run.interrupted}` : ""}`
        : `no step ran${run.interrupted ? ` (interrupted by ${run.interrupted})` : ""}${error ? ` (${error})` : ""}`;
    const failed = error !== undefined || !outcome || outcome.failed > 0 || outcome.notRun > 0 || outcome.code !== 0;
    return finish(d, { stack, dir, steps, report, failed, interrupted: run.interrupted, region });
}

async function cleanupOnly(o: Options, stack: string, pre: Preflight, state: StateEnv, d: Deps): Promise<number> {
    const dir = await d.prepareWork(stack, state, "cleanup");
    const env: Env = { ...state.env, ...(pre.region ? { AWS_REGION: pre.region } : {}) };
    const pulumi = (args: string[]) => d.exec({ cmd: "pulumi", args: ["--non-interactive", ...args], cwd: dir, env: { ...d.env, ...env } });
    const current = await exportState(pulumi, stack);
    if (!current.ok) {
        d.print(`test:aws: no stack ${stack} to clean up in ${state.backend}: ${current.error}`);
        d.removeWork(dir);
        return 1;
    }
    const configured = await pulumi(["config", "get", "aws:region", "--stack", stack]);
    const region = configured.code === 0 && configured.stdout.trim() ? configured.stdout.trim() : pre.region;
    let loadBalancer: string | undefined;
    try {
        loadBalancer = JSON.parse(d.readFile(path.join(dir, "steps.json")) ?? "{}").loadBalancer;
    } catch {
        /* no record of the run: only the stack is checked */
    }
    d.print(`test:aws will destroy stack ${stack} (${state.backend}, region ${region ?? "unknown"}) and remove it:`);
    describeLeftovers(current.resources).forEach((l) => d.print(`  - ${l}`));
    if (current.resources.length === 0) {
        d.print("  (no resources)");
    }
    if (loadBalancer) {
        d.print(`  and check that the load balancer ${loadBalancer} is gone`);
    }
    const answer = await confirm(`Destroy stack ${stack}?`, o, d);
    if (!answer.ok) {
        d.print(`test:aws: ${answer.why}; nothing was changed.`);
        return 1;
    }
    const off = d.onSignal((signal) => d.print(`[test:aws] ${signal}: the cleanup goes on (its commands do not get the signal)`));
    try {
        const report = await cleanup({ stack, dir, region, env, unclean: true, loadBalancer }, d);
        if (report.removed && report.leftovers.length === 0) {
            d.removeWork(dir);
        }
        return finish(d, { stack, dir, steps: "cleanup only", report, failed: false, region });
    } finally {
        off();
    }
}
