/**
 * Part 2 of the benchmark: the tutorial's operations on one embedded cluster with three real nodes (real pods: the
 * rollouts inside both paths are real), Pulumi against kubectl, alternating A/B, with the breakdown of where a
 * Pulumi run's time goes. Works in a workspace of the harness (a project copy, its own cluster and state in a
 * temporary folder), made when measureOperations() starts.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { KubernetesApi } from "../components/kubernetesApi";
import { clusterCommand } from "../harness/clusterCommand";
import { KubectlCommand, kubectlCommand } from "../harness/kubectlCommand";
import { copyProject } from "../harness/projectCopy";
import { mustSucceed, PulumiCommand, pulumiCommand } from "../harness/pulumiCommand";
import { createWorkspace, removeWorkspace, Workspace } from "../harness/workspace";
import { readStack } from "../stacks/stack";
import { toolchainValue } from "../toolchain/versions";
import { ChangeWatch, watchChanges } from "./apiChanges";
import { FloorWorkspace, firstWriteFloor, minimalProgramPreview } from "./floorPrograms";
import { median, peakTreeMemory, timed } from "./measure";
import { address, clusterApi, Condition, gone, imageSwapped, portMoved, readyBehindService, serves, until } from "./observe";
import { tutorialFiles, tutorialYaml } from "./tutorialYaml";

export const OPERATIONS = ["create", "scale 1→3", "port 80→8080", "image swap", "no-op", "destroy"] as const;
/** The images the real node holds (built by npm run toolchain). */
const NGINX = toolchainValue("NGINX_IMAGE");
const HTTPD = toolchainValue("HTTPD_IMAGE");
export type Operation = (typeof OPERATIONS)[number];
const repo = path.resolve(__dirname, "..");

/** The workspace of a measurement and its commands. */
interface Bench extends PulumiCommand, KubectlCommand {
    ws: Workspace;
    /** The cluster's API, for the conditions of bench/observe.ts. */
    api: KubernetesApi;
    /** What the API server saw of each step: its first write, the scale's Ready pods (bench/apiChanges.ts). */
    changes: ChangeWatch;
}

/**
 * Per tool, per operation: seconds until the command returned, until its result was observed (bench/observe.ts),
 * and until its first write reached the API server (bench/apiChanges.ts; none for the no-op); for the scale,
 * until the Service's EndpointSlices listed the three Ready pods (its result, as the API server had it).
 */
export interface OperationSamples {
    pulumi: ToolSamples;
    kubectl: ToolSamples;
}
interface ToolSamples { returned: Record<Operation, number[]>; observed: Record<Operation, number[]>; changed: Record<Operation, number[]>; scaledReady: number[] }

const empty = () => Object.fromEntries(OPERATIONS.map((o) => [o, [] as number[]])) as unknown as Record<Operation, number[]>;
const emptyTool = (): ToolSamples => ({ returned: empty(), observed: empty(), changed: empty(), scaledReady: [] });
type Into = ToolSamples;

/** `cmd args` in `cwd` (the project copy unless given); throws with its output unless it exits 0. */
function sh(b: Bench, cmd: string, args: string[], cwd = b.ws.dir): void {
    const r = spawnSync(cmd, args, { env: b.ws.env, encoding: "utf8", cwd });
    if (r.status !== 0) {
        throw new Error(`${cmd} ${args.join(" ")} → ${r.status}: ${r.stderr}${r.stdout}`);
    }
}

/** A command in the background: resolves when it exited 0, rejects otherwise. */
function shAsync(b: Bench, cmd: string, args: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, args, { env: b.ws.env, cwd: b.ws.dir, stdio: ["ignore", "ignore", "pipe"] });
        let err = "";
        child.stderr.on("data", (d) => (err += d));
        child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(" ")} → ${code}: ${err}`))));
    });
}

/** The tutorial's YAML with our values, written where kubectl reads it. */
function manifests(b: Bench, values: { replicas: number; image: string; port: number }): string[] {
    const dir = path.join(b.ws.dir, "manifests");
    fs.mkdirSync(dir, { recursive: true });
    const container = readStack({}).settings.containerName;
    const files = tutorialFiles(values.replicas);
    for (const f of files) {
        fs.writeFileSync(path.join(dir, f), tutorialYaml(f, { ...values, container }));
    }
    return files.flatMap((f) => ["-f", path.join(dir, f)]);
}

const k = (b: Bench, ...args: string[]) => ["--kubeconfig", b.ws.env.KUBECONFIG!, ...args];
const rollout = (b: Bench) => shAsync(b, "kubectl", k(b, "rollout", "status", "deployment/sample-deployment", "-n", "default", "--timeout=120s"));
const since = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

/**
 * One kubectl step: `kubectl <args>` (blocking, as typed), then `wait` (what the "command returned" column has
 * always included, e.g. `kubectl rollout status`) and the step's condition, side by side from the moment it returned.
 */
async function kubectlStep(b: Bench, into: Into, op: Operation, args: string[], wait: () => Promise<unknown>, condition: Condition): Promise<void> {
    const [t0, wall] = [process.hrtime.bigint(), Date.now()];
    sh(b, "kubectl", k(b, ...args));
    const [, observed] = await Promise.all([wait().then(() => into.returned[op].push(since(t0))), until(b.api, t0, condition, `kubectl ${op}`)]);
    into.observed[op].push(observed);
    seenByTheWatches(b, into, op, wall, "kubectl");
}

/** What the watches saw of step `op`, started at `wall` (ms since the epoch): its first write; the scale's result. */
function seenByTheWatches(b: Bench, into: Into, op: Operation, wall: number, tool: string): void {
    into.changed[op].push(b.changes.firstChangeSince(wall, `${tool} ${op}`));
    if (op === "scale 1→3") {
        into.scaledReady.push(b.changes.readyBehindServiceSince(wall, 3, `${tool} ${op}`));
    }
}

async function kubectlSequence(b: Bench, into: Into): Promise<void> {
    const m = (replicas: number, image: string, port: number) => manifests(b, { replicas, image, port });
    // Create also waits for the load balancer's address, as the provider does.
    await kubectlStep(b, into, "create", ["apply", ...m(1, NGINX, 80)],
        () => Promise.all([rollout(b), until(b.api, process.hrtime.bigint(), async (api) => (await address(api)) !== "", "address")]), serves(80, "nginx"));
    await kubectlStep(b, into, "scale 1→3", ["apply", ...m(3, NGINX, 80)], () => rollout(b), readyBehindService(3));
    await kubectlStep(b, into, "port 80→8080", ["apply", ...m(3, NGINX, 8080)], async () => {}, portMoved(80, 8080));
    await kubectlStep(b, into, "image swap", ["apply", ...m(3, HTTPD, 8080)], () => rollout(b), imageSwapped(8080, HTTPD));
    // kubectl diff exits 0 when nothing differs; nothing to observe.
    const t0 = process.hrtime.bigint();
    sh(b, "kubectl", k(b, "diff", ...m(3, HTTPD, 8080)));
    into.returned["no-op"].push(since(t0));
    into.observed["no-op"].push(since(t0));
    const last = await address(b.api);
    await kubectlStep(b, into, "destroy", ["delete", "--wait=true", ...m(3, HTTPD, 8080)], async () => {}, gone(() => last, 8080));
}

/** One pulumi step: `pulumi <args>` until it returns, then the step's condition. */
async function pulumiStep(b: Bench, into: Into, op: Operation, args: string[], condition?: Condition): Promise<void> {
    const [t0, wall] = [process.hrtime.bigint(), Date.now()];
    mustSucceed(b.pulumi(args));
    into.returned[op].push(since(t0));
    into.observed[op].push(condition ? await until(b.api, t0, condition, `pulumi ${op}`) : since(t0));
    if (condition) {
        seenByTheWatches(b, into, op, wall, "pulumi");
    }
}

async function pulumiSequence(b: Bench, into: Into): Promise<void> {
    const { pulumi } = b;
    const up = ["up", "--yes", "--skip-preview"];
    for (const key of ["replicas", "port"]) {
        mustSucceed(pulumi(["config", "rm", key]));
    }
    mustSucceed(pulumi(["config", "set", "image", NGINX]));
    await pulumiStep(b, into, "create", up, serves(80, "nginx"));
    mustSucceed(pulumi(["config", "set", "replicas", "3"]));
    await pulumiStep(b, into, "scale 1→3", up, readyBehindService(3));
    mustSucceed(pulumi(["config", "set", "port", "8080"]));
    await pulumiStep(b, into, "port 80→8080", up, portMoved(80, 8080));
    mustSucceed(pulumi(["config", "set", "image", HTTPD]));
    await pulumiStep(b, into, "image swap", up, imageSwapped(8080, HTTPD));
    await pulumiStep(b, into, "no-op", ["preview", "--expect-no-changes"]);
    const last = await address(b.api);
    await pulumiStep(b, into, "destroy", ["destroy", "--yes", "--skip-preview"], gone(() => last, 8080));
}

/** A no-op `pulumi preview --expect-no-changes`: median wall time, and peak memory in separate runs. */
export interface NoopPreview {
    seconds: number;
    /** Peak of the summed resident memory of the whole process tree (CLI, language host, Node.js, provider, tsc). */
    treeMiB: number;
    /** Peak resident memory of the largest single process (what `/usr/bin/time -v` reports). */
    largestMiB: number;
}

export interface Breakdown {
    /** `pulumi version`: the CLI binary alone. */
    cliStart: number;
    /** The provider binary until it serves gRPC (loads its embedded schema). */
    providerStart: number;
    /**
     * `pulumi preview` of an empty JavaScript program with this project's start-up: CLI, engine, secrets
     * provider, language host, Node.js and the SDK's run path.
     */
    emptyProgramPreview: number;
    /** The same with only a Kubernetes provider bound to the cluster, deployed: the provider started and configured too. */
    providerProgramPreview: number;
    /** Until the first write reached the API server: `pulumi up` of a provider and one Service whose port changed, `kubectl apply` of it. */
    firstWrite: { pulumi: number; kubectl: number };
    /** Plain: `pulumi preview` as README gives it, no extra environment (runs bin/, built and type-checked by main.js). */
    noopPlain: NoopPreview;
    /** Tuned: the same with PULUMI_NODEJS_TRANSPILE_ONLY=true (the old advice; it has nothing left to skip). */
    noopTuned: NoopPreview;
    /** The first run after a source outside the EKS component changed: main.js runs tsc on tsconfig.build.json first. */
    afterSourceChange: NoopPreview;
    /** The first run after an edit of the EKS component's code: tsc on tsconfig.eks.json (its declarations stay the same). */
    afterEksChange: NoopPreview;
    /** Before the EKS component was a project of its own: the whole program one tsc project, after a source changed. */
    afterSourceChangeOneProject: NoopPreview;
    /** Before this design: Pulumi.yaml main index.ts through ts-node, type-checked on every run. */
    noopTsNodeTypeChecked: NoopPreview;
    /** README's command for it on the embedded cluster: `npm run local -- preview --expect-no-changes`. */
    noopReadme: NoopPreview;
}

async function providerStart(b: Bench): Promise<number> {
    // Launched as the engine does (engine address first); it prints its port once it serves.
    const t0 = process.hrtime.bigint();
    const child = spawn(path.join(repo, ".toolchain", "bin", "pulumi-resource-kubernetes"), ["127.0.0.1:1"], { env: b.ws.env });
    return new Promise((resolve, reject) => {
        child.stdout.once("data", () => {
            const s = Number(process.hrtime.bigint() - t0) / 1e9;
            child.kill("SIGKILL");
            resolve(s);
        });
        child.once("error", reject);
        setTimeout(() => { child.kill("SIGKILL"); reject(new Error("provider did not start in 30 s")); }, 30000);
    });
}

/** `reps` runs of `cmd args` in the workspace sampled for memory (medians); `prepare` runs before each one. */
async function sampledMemory(b: Bench, reps: number, cmd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}, prepare: () => void = () => {}):
    Promise<{ treeMiB: number; largestMiB: number }> {
    const sampled: { peakMiB: number; largestMiB: number }[] = [];
    for (let i = 0; i < reps; i++) {
        prepare();
        const r = await peakTreeMemory(cmd, args, { cwd: b.ws.dir, env: { ...b.ws.env, ...extraEnv } });
        if (r.code !== 0) {
            throw new Error(`${cmd} ${args.join(" ")} failed:\n${r.output}`);
        }
        sampled.push(r);
    }
    return { treeMiB: median(sampled.map((r) => r.peakMiB)), largestMiB: median(sampled.map((r) => r.largestMiB)) };
}

/** `reps` timed no-op previews, then `reps` more sampled for memory; `prepare` runs before each one. */
async function noopPreview(b: Bench, reps: number, extraEnv: NodeJS.ProcessEnv = {}, prepare: () => void = () => {}): Promise<NoopPreview> {
    const args = ["preview", "--expect-no-changes"];
    const seconds = median(Array.from({ length: reps }, () => {
        prepare();
        const r = b.pulumi(args, extraEnv);
        mustSucceed(r);
        return r.seconds;
    }));
    return { seconds, ...await sampledMemory(b, reps, "pulumi", ["--non-interactive", ...args], extraEnv, prepare) };
}

/**
 * `reps` runs of README's `npm run local -- preview --expect-no-changes` in the project copy (npm, then
 * scripts/local.sh: the stack selected and its kubeconfig config read, the cluster checked, then the same
 * preview), timed, then `reps` more sampled for memory. The copy gets the wrapper's own scripts (cluster/,
 * toolchain/) for it; the workspace's environment names its cluster (CLUSTER_DIR) and state, as README's
 * commands find them in a clone.
 */
async function readmePreview(b: Bench, reps: number): Promise<NoopPreview> {
    for (const dir of ["cluster", "toolchain"]) {
        fs.cpSync(path.join(repo, dir), path.join(b.ws.dir, dir), { recursive: true });
    }
    const args = ["run", "-s", "local", "--", "preview", "--expect-no-changes"];
    const seconds = median(Array.from({ length: reps }, () => timed(() => sh(b, "npm", args))));
    return { seconds, ...await sampledMemory(b, reps, "npm", args) };
}

/** Runs `body` with tsconfig.build.json as it was before tsconfig.eks.json: one project, the whole program. */
async function withOneProject<T>(b: Bench, body: () => Promise<T>): Promise<T> {
    const file = path.join(b.ws.dir, "tsconfig.build.json");
    const original = fs.readFileSync(file, "utf8");
    const config = JSON.parse(original);
    delete config.references;
    delete config.compilerOptions.incremental;
    delete config.compilerOptions.tsBuildInfoFile;
    fs.writeFileSync(file, JSON.stringify(config, null, 4));
    try {
        return await body();
    } finally {
        fs.writeFileSync(file, original);
    }
}

/** Runs `body` with Pulumi.yaml's entry point set back to index.ts through ts-node (type-checked), as before. */
async function withTsNodeEntry<T>(b: Bench, body: () => Promise<T>): Promise<T> {
    const file = path.join(b.ws.dir, "Pulumi.yaml");
    const original = fs.readFileSync(file, "utf8");
    fs.writeFileSync(file, original.replace(/^main: main\.js\n/m, "").replace("typescript: false", "typescript: true"));
    try {
        return await body();
    } finally {
        fs.writeFileSync(file, original);
    }
}

export async function measureOperations(reps: number): Promise<{ samples: OperationSamples; breakdown: Breakdown }> {
    const ws = createWorkspace();
    // The harness's lines ($ pulumi ... → exit, [build] ...), as the e2e suites print them.
    const log = (line: string) => console.log(`    ${line}`);
    const { cluster } = clusterCommand(ws);
    copyProject(ws, log);
    cluster("start", "--node", "real");
    const b: Bench = { ws, ...pulumiCommand(ws, log), ...kubectlCommand(ws.env), api: clusterApi(ws.kubeconfig), changes: await watchChanges(ws.env, ws.kubeconfig) };
    try {
        mustSucceed(b.pulumi(["stack", "init", "local", "--secrets-provider", "passphrase"]));
        const samples: OperationSamples = { pulumi: emptyTool(), kubectl: emptyTool() };
        for (let i = 0; i < reps; i++) {
            console.error(`[bench] operations: repetition ${i + 1}/${reps}`);
            // Alternate which goes first, so that neither always runs on a warmer machine.
            if (i % 2 === 0) {
                await pulumiSequence(b, samples.pulumi);
                await kubectlSequence(b, samples.kubectl);
            } else {
                await kubectlSequence(b, samples.kubectl);
                await pulumiSequence(b, samples.pulumi);
            }
        }
        // Breakdown: the same stack deployed, previews with no changes.
        mustSucceed(b.pulumi(["up", "--yes", "--skip-preview"]));
        const repeat = (n: number, f: () => number) => median(Array.from({ length: n }, f));
        const floor: FloorWorkspace = { dir: ws.dir, kubeconfig: ws.kubeconfig, run: (cmd, args, cwd) => sh(b, cmd, args, cwd), changes: b.changes };
        const touch = (file = path.join("stacks", "podCapacity.ts")) => () => fs.appendFileSync(path.join(ws.dir, file), "// changed\n");
        const breakdown: Breakdown = {
            cliStart: repeat(5, () => timed(() => sh(b, "pulumi", ["version"]))),
            providerStart: median([await providerStart(b), await providerStart(b), await providerStart(b)]),
            emptyProgramPreview: minimalProgramPreview(floor, "empty", 3),
            providerProgramPreview: minimalProgramPreview(floor, "provider", 3),
            firstWrite: await firstWriteFloor(floor, reps),
            noopPlain: await noopPreview(b, reps),
            noopTuned: await noopPreview(b, reps, { PULUMI_NODEJS_TRANSPILE_ONLY: "true" }),
            afterSourceChange: await noopPreview(b, Math.min(reps, 3), {}, touch()),
            afterEksChange: await noopPreview(b, Math.min(reps, 3), {}, touch(path.join("components", "eksCluster.ts"))),
            afterSourceChangeOneProject: await withOneProject(b, () => noopPreview(b, Math.min(reps, 3), {}, touch())),
            noopTsNodeTypeChecked: await withTsNodeEntry(b, () => noopPreview(b, Math.min(reps, 3))),
            noopReadme: await readmePreview(b, reps),
        };
        mustSucceed(b.pulumi(["destroy", "--yes", "--skip-preview"]));
        return { samples, breakdown };
    } finally {
        b.api.close();
        b.changes.stop();
        cluster("stop");
        removeWorkspace(ws);
    }
}
