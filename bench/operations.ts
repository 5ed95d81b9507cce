/**
 * Part 2 of the benchmark: the tutorial's operations on one embedded cluster with a real node (real pods: the
 * rollouts inside both paths are real), Pulumi against kubectl, alternating A/B, with the breakdown of where a
 * Pulumi run's time goes. Uses the e2e harness (a project copy, its own cluster and state in a temporary folder).
 */
import { execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { cluster, copyProject, env, kubectl, mustSucceed, pulumi, repo, work } from "../tests/e2e/harness";
import { readStack } from "../stacks/stack";
import { toolchainValue } from "../toolchain/versions";
import { median, peakTreeMemory, timed } from "./measure";

export const OPERATIONS = ["create", "scale 1→3", "port 80→8080", "image swap", "no-op", "destroy"] as const;
/** The images the real node holds (built by npm run toolchain). */
const NGINX = toolchainValue("NGINX_IMAGE");
const HTTPD = toolchainValue("HTTPD_IMAGE");
export type Operation = (typeof OPERATIONS)[number];

export interface OperationSamples {
    pulumi: Record<Operation, number[]>;
    kubectl: Record<Operation, number[]>;
}

const empty = () => Object.fromEntries(OPERATIONS.map((o) => [o, [] as number[]])) as unknown as Record<Operation, number[]>;

function sh(cmd: string, args: string[]): void {
    const r = spawnSync(cmd, args, { env, encoding: "utf8", cwd: work });
    if (r.status !== 0) {
        throw new Error(`${cmd} ${args.join(" ")} → ${r.status}: ${r.stderr}${r.stdout}`);
    }
}

/** The tutorial's YAML with our values, written where kubectl reads it. */
function manifests(values: { replicas: number; image: string; port: number }): string[] {
    const dir = path.join(work, "manifests");
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

const k = (...args: string[]) => ["--kubeconfig", env.KUBECONFIG!, ...args];
const rollout = () => sh("kubectl", k("rollout", "status", "deployment/sample-deployment", "-n", "default", "--timeout=120s"));
/** What the provider's Service await waits for: the load balancer's address. */
function serviceAddress(): void {
    for (let i = 0; i < 300; i++) {
        const s = kubectl("get", "service", "sample-service", "-n", "default");
        if (s.status?.loadBalancer?.ingress?.length) {
            return;
        }
        execFileSync("sleep", ["0.1"]);
    }
    throw new Error("no load balancer address");
}

function kubectlSequence(into: Record<Operation, number[]>): void {
    into["create"].push(timed(() => {
        sh("kubectl", k("apply", ...manifests({ replicas: 1, image: NGINX, port: 80 })));
        rollout();
        serviceAddress();
    }));
    into["scale 1→3"].push(timed(() => {
        sh("kubectl", k("apply", ...manifests({ replicas: 3, image: NGINX, port: 80 })));
        rollout();
    }));
    into["port 80→8080"].push(timed(() => sh("kubectl", k("apply", ...manifests({ replicas: 3, image: NGINX, port: 8080 })))));
    into["image swap"].push(timed(() => {
        sh("kubectl", k("apply", ...manifests({ replicas: 3, image: HTTPD, port: 8080 })));
        rollout();
    }));
    // kubectl diff exits 0 when nothing differs.
    into["no-op"].push(timed(() => sh("kubectl", k("diff", ...manifests({ replicas: 3, image: HTTPD, port: 8080 })))));
    into["destroy"].push(timed(() => sh("kubectl", k("delete", "--wait=true", ...manifests({ replicas: 3, image: HTTPD, port: 8080 })))));
}

function pulumiSequence(into: Record<Operation, number[]>): void {
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

async function providerStart(): Promise<number> {
    // Launched as the engine does (engine address first); it prints its port once it serves.
    const t0 = process.hrtime.bigint();
    const child = spawn(path.join(repo, ".toolchain", "bin", "pulumi-resource-kubernetes"), ["127.0.0.1:1"], { env });
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

function emptyProgramPreview(): number {
    const dir = path.join(work, "empty");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: bench-empty\nmain: index.js\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n");
    fs.writeFileSync(path.join(dir, "index.js"), "module.exports = {};\n");
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "bench-empty", main: "index.js" }));
    if (!fs.existsSync(path.join(dir, "node_modules"))) {
        fs.symlinkSync(path.join(repo, "node_modules"), path.join(dir, "node_modules"));
    }
    const run = (args: string[]) => spawnSync("pulumi", ["--non-interactive", ...args], { cwd: dir, env, encoding: "utf8" });
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
async function noopPreview(reps: number, extraEnv: NodeJS.ProcessEnv = {}, prepare: () => void = () => {}): Promise<NoopPreview> {
    const args = ["preview", "--expect-no-changes"];
    const seconds = median(Array.from({ length: reps }, () => {
        prepare();
        const r = pulumi(args, extraEnv);
        mustSucceed(r);
        return r.seconds;
    }));
    const sampled: { peakMiB: number; largestMiB: number }[] = [];
    for (let i = 0; i < reps; i++) {
        prepare();
        const r = await peakTreeMemory("pulumi", ["--non-interactive", ...args], { cwd: work, env: { ...env, ...extraEnv } });
        if (r.code !== 0) {
            throw new Error(`pulumi preview failed:\n${r.output}`);
        }
        sampled.push(r);
    }
    return { seconds, treeMiB: median(sampled.map((r) => r.peakMiB)), largestMiB: median(sampled.map((r) => r.largestMiB)) };
}

/** Runs `body` with Pulumi.yaml's entry point set back to index.ts through ts-node (type-checked), as before. */
async function withTsNodeEntry<T>(body: () => Promise<T>): Promise<T> {
    const file = path.join(work, "Pulumi.yaml");
    const original = fs.readFileSync(file, "utf8");
    fs.writeFileSync(file, original.replace(/^main: main\.js\n/m, "").replace("typescript: false", "typescript: true"));
    try {
        return await body();
    } finally {
        fs.writeFileSync(file, original);
    }
}

export async function measureOperations(reps: number): Promise<{ samples: OperationSamples; breakdown: Breakdown }> {
    copyProject();
    cluster("start", "--node", "real");
    try {
        mustSucceed(pulumi(["stack", "init", "local", "--secrets-provider", "passphrase"]));
        const samples: OperationSamples = { pulumi: empty(), kubectl: empty() };
        for (let i = 0; i < reps; i++) {
            console.error(`[bench] operations: repetition ${i + 1}/${reps}`);
            // Alternate which goes first, so that neither always runs on a warmer machine.
            if (i % 2 === 0) {
                pulumiSequence(samples.pulumi);
                kubectlSequence(samples.kubectl);
            } else {
                kubectlSequence(samples.kubectl);
                pulumiSequence(samples.pulumi);
            }
        }
        // Breakdown: the same stack deployed, previews with no changes.
        mustSucceed(pulumi(["up", "--yes", "--skip-preview"]));
        const repeat = (n: number, f: () => number) => median(Array.from({ length: n }, f));
        const touch = () => fs.appendFileSync(path.join(work, "stacks", "podCapacity.ts"), "// changed\n");
        const breakdown: Breakdown = {
            cliStart: repeat(5, () => timed(() => sh("pulumi", ["version"]))),
            providerStart: median([await providerStart(), await providerStart(), await providerStart()]),
            emptyProgramPreview: repeat(3, emptyProgramPreview),
            noopPlain: await noopPreview(reps),
            noopTuned: await noopPreview(reps, { PULUMI_NODEJS_TRANSPILE_ONLY: "true" }),
            afterSourceChange: await noopPreview(Math.min(reps, 3), {}, touch),
            noopTsNodeTypeChecked: await withTsNodeEntry(() => noopPreview(Math.min(reps, 3))),
        };
        mustSucceed(pulumi(["destroy", "--yes", "--skip-preview"]));
        return { samples, breakdown };
    } finally {
        cluster("stop");
        fs.rmSync(work, { recursive: true, force: true });
    }
}
