/**
 * Part 2 of the benchmark: the tutorial's operations on one embedded cluster with a real node (real pods: the
 * rollouts inside both paths are real), Pulumi against kubectl, alternating A/B, with the breakdown of where a
 * Pulumi run's time goes. Works in a workspace of the harness (a project copy, its own cluster and state in a
 * temporary folder), made when measureOperations() starts.
 */
import { execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { clusterCommand } from "../harness/clusterCommand";
import { KubectlCommand, kubectlCommand } from "../harness/kubectlCommand";
import { copyProject } from "../harness/projectCopy";
import { mustSucceed, PulumiCommand, pulumiCommand } from "../harness/pulumiCommand";
import { createWorkspace, removeWorkspace, Workspace } from "../harness/workspace";
import { readStack } from "../stacks/stack";
import { toolchainValue } from "../toolchain/versions";
import { median, peakTreeMemory, timed } from "./measure";

export const OPERATIONS = ["create", "scale 1→3", "port 80→8080", "image swap", "no-op", "destroy"] as const;
/** The images the real node holds (built by npm run toolchain). */
const NGINX = toolchainValue("NGINX_IMAGE");
const HTTPD = toolchainValue("HTTPD_IMAGE");
export type Operation = (typeof OPERATIONS)[number];
const repo = path.resolve(__dirname, "..");

/** The workspace of a measurement and its commands. */
interface Bench extends PulumiCommand, KubectlCommand {
    ws: Workspace;
}

export interface OperationSamples {
    pulumi: Record<Operation, number[]>;
    kubectl: Record<Operation, number[]>;
}

const empty = () => Object.fromEntries(OPERATIONS.map((o) => [o, [] as number[]])) as unknown as Record<Operation, number[]>;

function sh(b: Bench, cmd: string, args: string[]): void {
    const r = spawnSync(cmd, args, { env: b.ws.env, encoding: "utf8", cwd: b.ws.dir });
    if (r.status !== 0) {
        throw new Error(`${cmd} ${args.join(" ")} → ${r.status}: ${r.stderr}${r.stdout}`);
    }
}

/** The tutorial's YAML with our values, written where kubectl reads it. */
function manifests(b: Bench, values: { replicas: number; image: string; port: number }): string[] {
    const dir = path.join(b.ws.dir, "manifests");
    fs.mkdirSync(dir, { recursive: true });
    const container = readStack({}).settings.containerName;
    const files = ["deployment.yml", "service.yml", ...(values.replicas >= 2 ? ["pdb.yml"] : [])];
    for (const f of files) {
        const text = fs.readFileSync(path.join(repo, "bench", "manifests", f), "utf8")
            .replaceAll("${REPLICAS}", String(values.replicas)).replaceAll("${IMAGE}", values.image)
            .replaceAll("${PORT}", String(values.port)).replaceAll("${CONTAINER}", container);
        fs.writeFileSync(path.join(dir, f), text);
    }
    return files.flatMap((f) => ["-f", path.join(dir, f)]);
}

const k = (b: Bench, ...args: string[]) => ["--kubeconfig", b.ws.env.KUBECONFIG!, ...args];
const rollout = (b: Bench) => sh(b, "kubectl", k(b, "rollout", "status", "deployment/sample-deployment", "-n", "default", "--timeout=120s"));
/** What the provider's Service await waits for: the load balancer's address. */
function serviceAddress(b: Bench): void {
    for (let i = 0; i < 300; i++) {
        const s = b.kubectl("get", "service", "sample-service", "-n", "default");
        if (s.status?.loadBalancer?.ingress?.length) {
            return;
        }
        execFileSync("sleep", ["0.1"]);
    }
    throw new Error("no load balancer address");
}

function kubectlSequence(b: Bench, into: Record<Operation, number[]>): void {
    into["create"].push(timed(() => {
        sh(b, "kubectl", k(b, "apply", ...manifests(b, { replicas: 1, image: NGINX, port: 80 })));
        rollout(b);
        serviceAddress(b);
    }));
    into["scale 1→3"].push(timed(() => {
        sh(b, "kubectl", k(b, "apply", ...manifests(b, { replicas: 3, image: NGINX, port: 80 })));
        rollout(b);
    }));
    into["port 80→8080"].push(timed(() => sh(b, "kubectl", k(b, "apply", ...manifests(b, { replicas: 3, image: NGINX, port: 8080 })))));
    into["image swap"].push(timed(() => {
        sh(b, "kubectl", k(b, "apply", ...manifests(b, { replicas: 3, image: HTTPD, port: 8080 })));
        rollout(b);
    }));
    // kubectl diff exits 0 when nothing differs.
    into["no-op"].push(timed(() => sh(b, "kubectl", k(b, "diff", ...manifests(b, { replicas: 3, image: HTTPD, port: 8080 })))));
    into["destroy"].push(timed(() => sh(b, "kubectl", k(b, "delete", "--wait=true", ...manifests(b, { replicas: 3, image: HTTPD, port: 8080 })))));
}

function pulumiSequence(b: Bench, into: Record<Operation, number[]>): void {
    const { pulumi } = b;
    const up = () => {
        const r = pulumi(["up", "--yes", "--skip-preview"]);
        mustSucceed(r);
        return r.seconds;
    };
    for (const key of ["replicas", "port"]) {
        mustSucceed(pulumi(["config", "rm", key]));
    }
    mustSucceed(pulumi(["config", "set", "image", NGINX]));
    into["create"].push(up());
    mustSucceed(pulumi(["config", "set", "replicas", "3"]));
    into["scale 1→3"].push(up());
    mustSucceed(pulumi(["config", "set", "port", "8080"]));
    into["port 80→8080"].push(up());
    mustSucceed(pulumi(["config", "set", "image", HTTPD]));
    into["image swap"].push(up());
    const noop = pulumi(["preview", "--expect-no-changes"]);
    mustSucceed(noop);
    into["no-op"].push(noop.seconds);
    const destroy = pulumi(["destroy", "--yes", "--skip-preview"]);
    mustSucceed(destroy);
    into["destroy"].push(destroy.seconds);
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
    /** `pulumi preview` of an empty JavaScript program: CLI, engine, language host, Node.js and the SDK's run path. */
    emptyProgramPreview: number;
    /** Plain: `pulumi preview` as README gives it, no extra environment (runs bin/, built and type-checked by main.js). */
    noopPlain: NoopPreview;
    /** Tuned: the same with PULUMI_NODEJS_TRANSPILE_ONLY=true (the old advice; it has nothing left to skip). */
    noopTuned: NoopPreview;
    /** The first run after a source changed: main.js type-checks and compiles with tsc first. */
    afterSourceChange: NoopPreview;
    /** Before this design: Pulumi.yaml main index.ts through ts-node, type-checked on every run. */
    noopTsNodeTypeChecked: NoopPreview;
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

function emptyProgramPreview(b: Bench): number {
    const dir = path.join(b.ws.dir, "empty");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: bench-empty\nmain: index.js\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n");
    fs.writeFileSync(path.join(dir, "index.js"), "module.exports = {};\n");
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "bench-empty", main: "index.js" }));
    if (!fs.existsSync(path.join(dir, "node_modules"))) {
        fs.symlinkSync(path.join(repo, "node_modules"), path.join(dir, "node_modules"));
    }
    const run = (args: string[]) => spawnSync("pulumi", ["--non-interactive", ...args], { cwd: dir, env: b.ws.env, encoding: "utf8" });
    if (run(["stack", "select", "bench"]).status !== 0) {
        run(["stack", "init", "bench"]);
    }
    return timed(() => {
        const r = run(["preview"]);
        if (r.status !== 0) {
            throw new Error(`empty preview failed: ${r.stderr}${r.stdout}`);
        }
    });
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
    const sampled: { peakMiB: number; largestMiB: number }[] = [];
    for (let i = 0; i < reps; i++) {
        prepare();
        const r = await peakTreeMemory("pulumi", ["--non-interactive", ...args], { cwd: b.ws.dir, env: { ...b.ws.env, ...extraEnv } });
        if (r.code !== 0) {
            throw new Error(`pulumi preview failed:\n${r.output}`);
        }
        sampled.push(r);
    }
    return { seconds, treeMiB: median(sampled.map((r) => r.peakMiB)), largestMiB: median(sampled.map((r) => r.largestMiB)) };
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
    const b: Bench = { ws, ...pulumiCommand(ws, log), ...kubectlCommand(ws.env) };
    const { cluster } = clusterCommand(ws);
    copyProject(ws, log);
    cluster("start", "--node", "real");
    try {
        mustSucceed(b.pulumi(["stack", "init", "local", "--secrets-provider", "passphrase"]));
        const samples: OperationSamples = { pulumi: empty(), kubectl: empty() };
        for (let i = 0; i < reps; i++) {
            console.error(`[bench] operations: repetition ${i + 1}/${reps}`);
            // Alternate which goes first, so that neither always runs on a warmer machine.
            if (i % 2 === 0) {
                pulumiSequence(b, samples.pulumi);
                kubectlSequence(b, samples.kubectl);
            } else {
                kubectlSequence(b, samples.kubectl);
                pulumiSequence(b, samples.pulumi);
            }
        }
        // Breakdown: the same stack deployed, previews with no changes.
        mustSucceed(b.pulumi(["up", "--yes", "--skip-preview"]));
        const repeat = (n: number, f: () => number) => median(Array.from({ length: n }, f));
        const touch = () => fs.appendFileSync(path.join(ws.dir, "stacks", "podCapacity.ts"), "// changed\n");
        const breakdown: Breakdown = {
            cliStart: repeat(5, () => timed(() => sh(b, "pulumi", ["version"]))),
            providerStart: median([await providerStart(b), await providerStart(b), await providerStart(b)]),
            emptyProgramPreview: repeat(3, () => emptyProgramPreview(b)),
            noopPlain: await noopPreview(b, reps),
            noopTuned: await noopPreview(b, reps, { PULUMI_NODEJS_TRANSPILE_ONLY: "true" }),
            afterSourceChange: await noopPreview(b, Math.min(reps, 3), {}, touch),
            noopTsNodeTypeChecked: await withTsNodeEntry(b, () => noopPreview(b, Math.min(reps, 3))),
        };
        mustSucceed(b.pulumi(["destroy", "--yes", "--skip-preview"]));
        return { samples, breakdown };
    } finally {
        cluster("stop");
        removeWorkspace(ws);
    }
}
