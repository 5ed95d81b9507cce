/**
 * What the end-to-end suites share: a copy of the project in a temporary folder (so stack config edits and
 * state never touch the checkout), its own embedded cluster, the `pulumi` and `kubectl` commands as a user
 * types them, and step/check reporting that ends with an "N passed, N failed" line.
 *
 * Run through tests/e2e/run.sh (npm run test:e2e), which sets up PATH and the Pulumi environment.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ensureBuilt } from "../../scripts/build";
import { hostChanges, hostState, HostState } from "./hostState";
import { copyProjectTo } from "./projectCopy";

export const repo = path.resolve(__dirname, "..", "..");
/** The project copy: a new temporary folder, or the one EKS_NGINX_E2E_WORK names (npm run test:aws's, which outlives this process). */
export const work = process.env.EKS_NGINX_E2E_WORK || fs.mkdtempSync(path.join(os.tmpdir(), "eks-nginx-e2e-"));
export const clusterDir = path.join(work, ".cluster");
export const kubeconfig = path.join(clusterDir, "kubeconfig");
export const stateDir = path.join(work, ".state");
export const PASSPHRASE = "e2e-only-passphrase";
/**
 * Temporary files of the commands, removed with the copy: the Kubernetes provider writes a copy of its
 * kubeconfig there on every run and never removes it, the language host its pipes, kubectl its cache.
 */
const scratch = path.join(work, "tmp");
fs.mkdirSync(scratch, { recursive: true, mode: 0o700 });
export const env: NodeJS.ProcessEnv = {
    ...process.env,
    CLUSTER_DIR: clusterDir,
    KUBECONFIG: kubeconfig,
    PULUMI_BACKEND_URL: `file://${stateDir}`,
    PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
    TMPDIR: scratch,
    KUBECACHEDIR: path.join(scratch, "kube-cache"),
};
delete env.PULUMI_CONFIG_PASSPHRASE_FILE;
export const APP = "sample-app";

let passed = 0;
let failed = 0;
let stepOk = true;
const timings: string[] = [];
/** Every PID the cluster recorded, over restarts too. */
const everyClusterPid = new Set<number>();

export function log(message: string): void {
    console.log(`    ${message}`);
}

export function check(what: string, ok: boolean, observed: unknown): void {
    console.log(`    ${ok ? "ok  " : "FAIL"} ${what}: ${typeof observed === "string" ? observed : JSON.stringify(observed)}`);
    if (!ok) {
        stepOk = false;
    }
}

export async function step(title: string, body: () => Promise<void> | void): Promise<void> {
    console.log(`\n[step] ${title}`);
    stepOk = true;
    const t0 = Date.now();
    try {
        await body();
    } catch (e) {
        stepOk = false;
        console.log(`    FAIL ${(e as Error).message}`);
    }
    console.log(`[${stepOk ? "PASS" : "FAIL"}] ${title} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    if (stepOk) {
        passed++;
    } else {
        failed++;
    }
}

/** The steps passed and failed so far. */
export function stepCounts(): { passed: number; failed: number } {
    return { passed, failed };
}

export interface Run {
    code: number;
    output: string;
    seconds: number;
}

function record(args: string[], run: Run): void {
    log(`$ pulumi ${args.join(" ")}  → exit ${run.code} in ${run.seconds.toFixed(1)} s`);
    if (/^(up|destroy|preview|refresh)$/.test(args[0])) {
        timings.push(`pulumi ${args.join(" ")}: ${run.seconds.toFixed(1)} s`);
    }
}

/** `pulumi <args>` in the project copy; output is kept for the checks and shown on failure. */
export function pulumi(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Run {
    const t0 = Date.now();
    const r = spawnSync("pulumi", ["--non-interactive", ...args], { cwd: work, env: { ...env, ...extraEnv }, encoding: "utf8", maxBuffer: 64 << 20 });
    const run = { code: r.status ?? -1, output: `${r.stdout}${r.stderr}`, seconds: (Date.now() - t0) / 1000 };
    record(args, run);
    return run;
}

export interface AsyncRun {
    child: ChildProcess;
    done: Promise<Run>;
}

/**
 * Like pulumi(), without blocking the event loop (watchers run meanwhile). `onOutput` sees the output so
 * far on every chunk. The process leads its own process group, so a test can kill it with its plugins.
 */
export function pulumiAsync(args: string[], onOutput?: (soFar: string, child: ChildProcess) => void, extraEnv: NodeJS.ProcessEnv = {}): AsyncRun {
    const t0 = Date.now();
    const child = spawn("pulumi", ["--non-interactive", ...args], { cwd: work, env: { ...env, ...extraEnv }, detached: true });
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
}

export function mustSucceed(run: Run): void {
    if (run.code !== 0) {
        throw new Error(`pulumi failed:\n${tail(run.output, 40)}`);
    }
}

export function tail(text: string, lines: number): string {
    return text.split("\n").slice(-lines).join("\n");
}

/** stdout of a read-only pulumi command (stack output, stack export, config get). */
export function pulumiStdout(...args: string[]): string {
    const r = spawnSync("pulumi", args, { cwd: work, env, encoding: "utf8", maxBuffer: 64 << 20 });
    if (r.status !== 0) {
        throw new Error(`pulumi ${args.join(" ")} failed: ${r.stderr}`);
    }
    return r.stdout.trim();
}

export function kubectl(...args: string[]): any {
    const out = execFileSync("kubectl", ["--kubeconfig", env.KUBECONFIG!, "--request-timeout=10s", ...args, "-o", "json"], { env, encoding: "utf8" });
    return JSON.parse(out);
}

/** kubectl's plain output (logs, ...). */
export function kubectlText(...args: string[]): string {
    return execFileSync("kubectl", ["--kubeconfig", env.KUBECONFIG!, "--request-timeout=10s", ...args], { env, encoding: "utf8", maxBuffer: 64 << 20 });
}

export const deployment = () => kubectl("get", "deployment", "sample-deployment", "-n", "default");
export const service = () => kubectl("get", "service", "sample-service", "-n", "default");
export const appPods = (): any[] => kubectl("get", "pods", "-n", "default", "-l", `app=${APP}`).items;
export const readyPods = () => appPods().filter((p) => !p.metadata.deletionTimestamp &&
    (p.status.conditions ?? []).some((c: { type: string; status: string }) => c.type === "Ready" && c.status === "True"));

/** The app's ReplicaSets that want pods, as `name=image`. */
export function activeReplicaSets(): string[] {
    return kubectl("get", "replicasets", "-n", "default", "-l", `app=${APP}`).items
        .filter((r: any) => r.spec.replicas > 0).map((r: any) => `${r.metadata.name}=${r.spec.template.spec.containers[0].image}`);
}

/** Objects of the app (by label) that exist now, as kind/name. */
export function appObjects(kinds = ["deployments", "replicasets", "pods", "services", "poddisruptionbudgets", "horizontalpodautoscalers"]): string[] {
    return kinds.flatMap((kind) => kubectl("get", kind, "-n", "default", "-l", `app=${APP}`).items
        .map((i: { metadata: { name: string } }) => `${kind}/${i.metadata.name}`));
}

/** The stack's resources from `pulumi stack export`. */
export function stackResources(): { urn: string; type: string }[] {
    return JSON.parse(pulumiStdout("stack", "export")).deployment?.resources ?? [];
}

export function copyProject(): void {
    copyProjectTo(work, "Pulumi.local.yaml");
    fs.mkdirSync(stateDir);
    // The program's build (main.js does it on the first pulumi run otherwise): a copied bin/ counts only if it
    // matches the sources (scripts/build.js), so the steps' timings never include a tsc run.
    ensureBuilt({ root: work, log: (line) => log(`[build] ${line}`) });
}

export function cluster(...args: string[]): void {
    execFileSync("bash", [path.join(repo, "cluster", "cluster.sh"), ...args], { env, stdio: "inherit" });
    clusterPids().forEach((pid) => everyClusterPid.add(pid));
}

export function clusterPids(): number[] {
    const file = path.join(clusterDir, "pids");
    return fs.existsSync(file)
        ? fs.readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((l) => Number(l.split(" ")[1]))
        : [];
}

/** Every PID the cluster ever recorded in this run (restarts included). */
export function allClusterPids(): number[] {
    return [...everyClusterPid];
}

/** Alive and not a zombie (an orphan's exit status may stay unreaped where init does not reap). */
export function isRunning(pid: number): boolean {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
    } catch {
        return false;
    }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The PIDs still running among `pids` after up to `seconds` (an exiting process takes a moment). */
export async function stillRunning(pids: number[], seconds = 10): Promise<number[]> {
    for (let waited = 0; waited < seconds * 1000 && pids.some(isRunning); waited += 200) {
        await sleep(200);
    }
    return pids.filter(isRunning);
}

/** Every descendant of `pid` (children, their children, ...), read from /proc. */
export function descendants(pid: number): number[] {
    const parentOf = new Map<number, number>();
    for (const entry of fs.readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
        try {
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
        } catch {
            /* gone meanwhile */
        }
    }
    const found: number[] = [];
    let frontier = [pid];
    while (frontier.length > 0) {
        const next = [...parentOf].filter(([, ppid]) => frontier.includes(ppid)).map(([p]) => p);
        found.push(...next);
        frontier = next;
    }
    return found;
}

/** Samples `sample()` every 200 ms until stopped; errors are recorded as -1. */
export function watch(sample: () => number): { stop: () => Promise<number[]> } {
    const seen: number[] = [];
    let watching = true;
    const loop = (async () => {
        while (watching) {
            try {
                seen.push(sample());
            } catch {
                seen.push(-1);
            }
            await sleep(200);
        }
    })();
    return { stop: async () => { watching = false; await loop; return seen; } };
}

let machineBefore: HostState | undefined;
/** The machine as it was before the suite's real node started (kernel settings, links, iptables, mounts, ...). */
export function hostBefore(): HostState {
    if (!machineBefore) {
        throw new Error("no host state recorded: the suite runs on kwok nodes");
    }
    return machineBefore;
}

/**
 * `cluster stop` on a real node, then the checks that it left nothing: every process the cluster ever recorded
 * (`expectedPids` of them: 8 per start) has ended, and the machine is as `hostBefore()` found it.
 */
export async function stopClusterLeavingNothing(expectedPids: number): Promise<void> {
    cluster("stop");
    const pids = allClusterPids();
    const running = await stillRunning(pids);
    check(`cluster stop: every cluster process ended (${expectedPids}: per start 5 control plane, containerd, kubelet, kube-proxy)`,
        running.length === 0 && pids.length === expectedPids, `${pids.length} recorded, running now: ${running.join(",") || "none"}`);
    const changes = hostChanges(hostBefore());
    check("the machine as before start: processes, containers, mounts, namespaces, links, iptables, nftables, cgroups, paths, kernel settings",
        changes.length === 0, changes.length ? changes.slice(0, 20).join("\n      ") : "no difference");
}

/**
 * Sets up the project copy, a cluster with a real node (pods run, the load balancer answers on loopback) or
 * kwok's three fake nodes in three zones, and the `local` stack; `body` runs the steps; reports and cleans up.
 */
export function run(name: string, expectedSteps: number, node: "real" | "kwok", body: () => Promise<void>): void {
    const t0 = Date.now();
    console.log(`${name}: ${node === "real" ? "a real node" : "kwok's fake nodes"}; project copy and state in ${work}`);
    (async () => {
        copyProject();
        if (node === "real") {
            machineBefore = hostState();
        }
        cluster("start", "--node", node);
        mustSucceed(pulumi(["stack", "init", "local", "--secrets-provider", "passphrase"]));
        await body();
        console.log(`\nwall times:\n  ${timings.join("\n  ")}\n  whole ${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    })()
        .catch((e) => {
            failed++;
            console.log(`FAIL setup: ${(e as Error).message}`);
        })
        .finally(() => {
            // Whatever happened, leave no cluster process, and nothing a real node changed, behind.
            if (allClusterPids().some(isRunning) || fs.existsSync(clusterDir)) {
                try {
                    cluster("stop");
                } catch {
                    /* reported below */
                }
            }
            fs.rmSync(work, { recursive: true, force: true });
            console.log(`\n${name}: ${passed} passed, ${failed} failed`);
            process.exitCode = failed === 0 && passed === expectedSteps ? 0 : 1;
        });
}
