/**
 * `pulumi` as a user types it, in a workspace's project copy and environment: blocking, or in the background
 * (watchers run meanwhile), or for the stdout of a read-only command. Each run is logged with its exit status and
 * wall time, and the wall times of up, destroy, preview and refresh are kept for the caller's summary.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as os from "os";
import { Workspace } from "./workspace";

export interface Run {
    code: number;
    output: string;
    seconds: number;
}

export interface AsyncRun {
    child: ChildProcess;
    done: Promise<Run>;
}

export interface PulumiCommand {
    /** `pulumi <args>` in the project copy; output is kept for the checks and shown on failure. */
    pulumi(args: string[], extraEnv?: NodeJS.ProcessEnv): Run;
    /**
     * Like pulumi(), without blocking the event loop (watchers run meanwhile). `onOutput` sees the output so
     * far on every chunk. The process leads its own process group, so a test can kill it with its plugins.
     */
    pulumiAsync(args: string[], onOutput?: (soFar: string, child: ChildProcess) => void, extraEnv?: NodeJS.ProcessEnv): AsyncRun;
    /** stdout of a read-only pulumi command (stack output, stack export, config get). */
    pulumiStdout(...args: string[]): string;
    /** The stack's resources from `pulumi stack export`. */
    stackResources(): { urn: string; type: string }[];
    /** "pulumi <args>: <seconds> s" of every up, destroy, preview and refresh so far. */
    timings: string[];
}

/** The pulumi command of workspace `ws`; `log` gets a line per run. */
export function pulumiCommand(ws: Pick<Workspace, "dir" | "env">, log: (line: string) => void): PulumiCommand {
    const timings: string[] = [];
    const record = (args: string[], run: Run) => {
        log(`$ pulumi ${args.join(" ")}  → exit ${run.code} in ${run.seconds.toFixed(1)} s`);
        if (/^(up|destroy|preview|refresh)$/.test(args[0])) {
            timings.push(`pulumi ${args.join(" ")}: ${run.seconds.toFixed(1)} s`);
        }
    };
    const pulumiStdout = (...args: string[]): string => {
        const r = spawnSync("pulumi", args, { cwd: ws.dir, env: ws.env, encoding: "utf8", maxBuffer: 64 << 20 });
        if (r.status !== 0) {
            throw new Error(`pulumi ${args.join(" ")} failed: ${r.stderr}`);
        }
        return r.stdout.trim();
    };
    return {
        timings,
        pulumi: (args, extraEnv = {}) => {
            const t0 = Date.now();
            const r = spawnSync("pulumi", ["--non-interactive", ...args], { cwd: ws.dir, env: { ...ws.env, ...extraEnv }, encoding: "utf8", maxBuffer: 64 << 20 });
            const run = { code: r.status ?? -1, output: `${r.stdout}${r.stderr}`, seconds: (Date.now() - t0) / 1000 };
            record(args, run);
            return run;
        },
        pulumiAsync: (args, onOutput, extraEnv = {}) => {
            const t0 = Date.now();
            const child = spawn("pulumi", ["--non-interactive", ...args], { cwd: ws.dir, env: { ...ws.env, ...extraEnv }, detached: true });
            let output = "";
            const seen = (d: Buffer) => {
                output += d;
                onOutput?.(output, child);
            };
            child.stdout?.on("data", seen);
            child.stderr?.on("data", seen);
            const done = new Promise<Run>((resolve) => {
                child.on("close", (code, signal) => {
                    const run = { code: code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : -1), output, seconds: (Date.now() - t0) / 1000 };
                    record(args, run);
                    resolve(run);
                });
            });
            return { child, done };
        },
        pulumiStdout,
        stackResources: () => JSON.parse(pulumiStdout("stack", "export")).deployment?.resources ?? [],
    };
}

/** Throws with the output's last 40 lines unless the run succeeded. */
export function mustSucceed(run: Run): void {
    if (run.code !== 0) {
        throw new Error(`pulumi failed:\n${tail(run.output, 40)}`);
    }
}

/** The last `lines` lines of `text`. */
export function tail(text: string, lines: number): string {
    return text.split("\n").slice(-lines).join("\n");
}
