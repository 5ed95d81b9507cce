/**
 * The tutorial's scenario (SCENARIO.md rows 2-7) with the real Pulumi CLI, the real Kubernetes provider
 * and the embedded control plane. Each step runs the `pulumi` commands README.md gives a user, then checks
 * the result through the Kubernetes API (kubectl), not through Pulumi's own outputs.
 *
 * Run through tests/e2e/run.sh (npm run test:e2e), which sets up the toolchain and environment.
 * Works on a copy of the project in a temporary folder, so the stack's config edits and state never touch
 * the checkout; starts its own cluster there and stops it at the end.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const repo = path.resolve(__dirname, "..", "..");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "eks-nginx-e2e-"));
const clusterDir = path.join(work, ".cluster");
const kubeconfig = path.join(clusterDir, "kubeconfig");
const env: NodeJS.ProcessEnv = {
    ...process.env,
    CLUSTER_DIR: clusterDir,
    KUBECONFIG: kubeconfig,
    PULUMI_BACKEND_URL: `file://${path.join(work, ".state")}`,
    PULUMI_CONFIG_PASSPHRASE: "e2e-only-passphrase",
};
delete env.PULUMI_CONFIG_PASSPHRASE_FILE;
const APP = "sample-app";

let passed = 0;
let failed = 0;
const timings: string[] = [];

function log(message: string): void {
    console.log(`    ${message}`);
}

function check(what: string, ok: boolean, observed: unknown): void {
    console.log(`    ${ok ? "ok  " : "FAIL"} ${what}: ${typeof observed === "string" ? observed : JSON.stringify(observed)}`);
    if (!ok) {
        stepOk = false;
    }
}

let stepOk = true;
async function step(title: string, body: () => Promise<void> | void): Promise<void> {
    console.log(`\n[step] ${title}`);
    stepOk = true;
    const t0 = Date.now();
    try {
        await body();
    } catch (e) {
        stepOk = false;
        console.log(`    FAIL ${(e as Error).message}`);
    }
    const seconds = ((Date.now() - t0) / 1000).toFixed(1);
    console.log(`[${stepOk ? "PASS" : "FAIL"}] ${title} (${seconds} s)`);
    if (stepOk) {
        passed++;
    } else {
        failed++;
    }
}

interface Run {
    code: number;
    output: string;
    seconds: number;
}

/** `pulumi <args>` in the project copy; output is kept for the checks and echoed on failure. */
function pulumi(...args: string[]): Run {
    const t0 = Date.now();
    const r = spawnSync("pulumi", ["--non-interactive", ...args], { cwd: work, env, encoding: "utf8", maxBuffer: 64 << 20 });
    const run = { code: r.status ?? -1, output: `${r.stdout}${r.stderr}`, seconds: (Date.now() - t0) / 1000 };
    log(`$ pulumi ${args.join(" ")}  → exit ${run.code} in ${run.seconds.toFixed(1)} s`);
    if (/^(up|destroy|preview)$/.test(args[0])) {
        timings.push(`pulumi ${args.join(" ")}: ${run.seconds.toFixed(1)} s`);
    }
    return run;
}

/** Like pulumi(), but does not block the event loop, so a watcher can run meanwhile. */
function pulumiAsync(...args: string[]): Promise<Run> {
    const t0 = Date.now();
    return new Promise((resolve) => {
        const child: ChildProcess = spawn("pulumi", ["--non-interactive", ...args], { cwd: work, env });
        let output = "";
        child.stdout?.on("data", (d) => (output += d));
        child.stderr?.on("data", (d) => (output += d));
        child.on("close", (code) => {
            const run = { code: code ?? -1, output, seconds: (Date.now() - t0) / 1000 };
            log(`$ pulumi ${args.join(" ")}  → exit ${run.code} in ${run.seconds.toFixed(1)} s`);
            timings.push(`pulumi ${args.join(" ")}: ${run.seconds.toFixed(1)} s`);
            resolve(run);
        });
    });
}

function mustSucceed(run: Run): void {
    if (run.code !== 0) {
        throw new Error(`pulumi failed:\n${run.output.split("\n").slice(-40).join("\n")}`);
    }
}

function kubectl(...args: string[]): any {
    const out = execFileSync("kubectl", ["--kubeconfig", kubeconfig, ...args, "-o", "json"], { env, encoding: "utf8" });
    return JSON.parse(out);
}

function deployment(): any {
    return kubectl("get", "deployment", "sample-deployment", "-n", "default");
}

function service(): any {
    return kubectl("get", "service", "sample-service", "-n", "default");
}

function appPods(): any[] {
    return kubectl("get", "pods", "-n", "default", "-l", `app=${APP}`).items;
}

function readyPods(): any[] {
    return appPods().filter((p) => !p.metadata.deletionTimestamp &&
        (p.status.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True"));
}

/** stdout of a read-only pulumi command (stack output, stack export). */
function pulumiStdout(...args: string[]): string {
    const r = spawnSync("pulumi", args, { cwd: work, env, encoding: "utf8", maxBuffer: 64 << 20 });
    if (r.status !== 0) {
        throw new Error(`pulumi ${args.join(" ")} failed: ${r.stderr}`);
    }
    return r.stdout.trim();
}

function output(name: string): string {
    return pulumiStdout("stack", "output", name);
}

function copyProject(): void {
    for (const entry of ["Pulumi.yaml", "Pulumi.local.yaml", "index.ts", "package.json", "tsconfig.json", "components", "stacks"]) {
        fs.cpSync(path.join(repo, entry), path.join(work, entry), { recursive: true });
    }
    fs.symlinkSync(path.join(repo, "node_modules"), path.join(work, "node_modules"));
}

function cluster(action: string): void {
    execFileSync("bash", [path.join(repo, "cluster", "cluster.sh"), action], { env, stdio: "inherit" });
}

function clusterPids(): number[] {
    const file = path.join(clusterDir, "pids");
    return fs.existsSync(file)
        ? fs.readFileSync(file, "utf8").trim().split("\n").map((l) => Number(l.split(" ")[1]))
        : [];
}

/** Alive and not a zombie (an orphan's exit status may stay unreaped where init does not reap). */
function isRunning(pid: number): boolean {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
    } catch {
        return false;
    }
}

async function main(): Promise<void> {
    const t0 = Date.now();
    console.log(`e2e: project copy and state in ${work}`);
    copyProject();
    fs.mkdirSync(path.join(work, ".state"));
    cluster("start");
    const pids = clusterPids();
    mustSucceed(pulumi("stack", "init", "local", "--secrets-provider", "passphrase"));
    // The embedded cluster has a load balancer stand-in, so the tutorial's LoadBalancer Service works here.
    mustSucceed(pulumi("config", "set", "serviceType", "LoadBalancer"));

    let firstPodUid = "";
    let svcBefore: any;

    await step("1. pulumi up: Deployment 1/1 and a LoadBalancer Service (tutorial rows 2-3)", () => {
        mustSucceed(pulumi("up", "--yes"));
        const d = deployment();
        const [c] = d.spec.template.spec.containers;
        check("deployment available", d.status.availableReplicas === 1 && d.spec.replicas === 1, `${d.status.availableReplicas}/${d.spec.replicas}`);
        check("selector and pod labels app=sample-app", d.spec.selector.matchLabels.app === APP && d.spec.template.metadata.labels.app === APP,
            { selector: d.spec.selector.matchLabels, labels: d.spec.template.metadata.labels });
        check("strategy RollingUpdate 25%/25%", d.spec.strategy.type === "RollingUpdate" &&
            d.spec.strategy.rollingUpdate.maxSurge === "25%" && d.spec.strategy.rollingUpdate.maxUnavailable === "25%", d.spec.strategy);
        check("image pinned nginx", /^nginx:\d+\.\d+\.\d+$/.test(c.image), c.image);
        check("containerPort 80", c.ports[0].containerPort === 80, c.ports[0].containerPort);
        const s = service();
        check("service type LoadBalancer", s.spec.type === "LoadBalancer", s.spec.type);
        check("port 80 → targetPort 80", s.spec.ports[0].port === 80 && s.spec.ports[0].targetPort === 80,
            `${s.spec.ports[0].port} → ${s.spec.ports[0].targetPort}`);
        check("selector app=sample-app", s.spec.selector.app === APP, s.spec.selector);
        const ingress = s.status.loadBalancer?.ingress?.[0];
        check("load balancer ingress address", Boolean(ingress?.ip || ingress?.hostname), ingress ?? "none");
        const url = output("url");
        check("stack output url", url === `http://${ingress?.ip ?? ingress?.hostname}:80`, url);
        const pods = readyPods();
        check("one Ready pod", pods.length === 1, pods.map((p) => p.metadata.name));
        firstPodUid = pods[0]?.metadata.uid ?? "";
    });

    await step("2. pulumi config set replicas 3 + up: 3 Ready pods, the first pod kept (row 4)", () => {
        mustSucceed(pulumi("config", "set", "replicas", "3"));
        mustSucceed(pulumi("up", "--yes"));
        const pods = readyPods();
        check("3 Ready pods", pods.length === 3, pods.map((p) => p.metadata.name));
        check("first pod still there (same UID)", pods.some((p) => p.metadata.uid === firstPodUid), firstPodUid);
        check("deployment spec.replicas 3", deployment().spec.replicas === 3, deployment().spec.replicas);
    });

    await step("3. pulumi config set port 8080 + up: Service updated in place (row 5)", () => {
        svcBefore = service();
        mustSucceed(pulumi("config", "set", "port", "8080"));
        mustSucceed(pulumi("up", "--yes"));
        const s = service();
        check("service port 8080 → targetPort 80", s.spec.ports[0].port === 8080 && s.spec.ports[0].targetPort === 80,
            `${s.spec.ports[0].port} → ${s.spec.ports[0].targetPort}`);
        check("same Service UID", s.metadata.uid === svcBefore.metadata.uid, s.metadata.uid);
        check("same cluster IP", s.spec.clusterIP === svcBefore.spec.clusterIP, s.spec.clusterIP);
        check("same load balancer address", JSON.stringify(s.status.loadBalancer) === JSON.stringify(svcBefore.status.loadBalancer),
            s.status.loadBalancer);
        check("stack output url on 8080", output("url").endsWith(":8080"), output("url"));
    });

    await step("4. image httpd:2.4 and replicas 1 + up: rolling update, never 0 available (row 6)", async () => {
        const rsBefore = kubectl("get", "replicasets", "-n", "default", "-l", `app=${APP}`).items.map((r: any) => r.metadata.name);
        mustSucceed(pulumi("config", "set", "image", "httpd:2.4"));
        mustSucceed(pulumi("config", "set", "replicas", "1"));
        const seen: number[] = [];
        let watching = true;
        const watcher = (async () => {
            while (watching) {
                try {
                    seen.push(deployment().status.availableReplicas ?? 0);
                } catch {
                    seen.push(-1);
                }
                await new Promise((r) => setTimeout(r, 200));
            }
        })();
        const run = await pulumiAsync("up", "--yes");
        watching = false;
        await watcher;
        mustSucceed(run);
        const d = deployment();
        const rsAfter = kubectl("get", "replicasets", "-n", "default", "-l", `app=${APP}`).items;
        const newRs = rsAfter.filter((r: any) => !rsBefore.includes(r.metadata.name));
        check("a new ReplicaSet", newRs.length === 1, newRs.map((r: any) => r.metadata.name));
        check("deployment revision 2", d.metadata.annotations["deployment.kubernetes.io/revision"] === "2",
            d.metadata.annotations["deployment.kubernetes.io/revision"]);
        const pods = appPods().filter((p) => !p.metadata.deletionTimestamp);
        check("one pod, running httpd:2.4", pods.length === 1 && pods[0].spec.containers[0].image === "httpd:2.4",
            pods.map((p) => `${p.metadata.name} ${p.spec.containers[0].image} ${p.status.phase}`));
        check(`available replicas never 0 during the rollout (${seen.length} samples)`, seen.length > 0 && Math.min(...seen) >= 1,
            `min ${Math.min(...seen)}, samples ${seen.join(",")}`);
    });

    await step("5. pulumi preview --expect-no-changes (idempotent)", () => {
        const run = pulumi("preview", "--expect-no-changes");
        check("preview reports no changes", run.code === 0, run.code === 0 ? "no changes" : run.output.split("\n").slice(-15).join("\n"));
    });

    await step("6. pulumi config set replicas -- -1 + preview: refused, cluster unchanged", () => {
        const before = deployment();
        mustSucceed(pulumi("config", "set", "replicas", "--", "-1"));
        const run = pulumi("preview");
        check("preview fails", run.code !== 0, `exit ${run.code}`);
        const line = run.output.split("\n").find((l) => l.includes("replicas = -1")) ?? "(no message)";
        check("message names key, value and what is accepted", /replicas = -1: expected an integer from 0 to 1000/.test(run.output), line.trim());
        const after = deployment();
        check("deployment unchanged", after.metadata.generation === before.metadata.generation && after.spec.replicas === 1,
            `generation ${after.metadata.generation}, replicas ${after.spec.replicas}`);
        mustSucceed(pulumi("config", "set", "replicas", "1"));
        check("value restored", pulumiStdout("config", "get", "replicas") === "1", pulumiStdout("config", "get", "replicas"));
    });

    await step("7. pulumi destroy: nothing of the app left, empty stack, cluster stopped (row 7)", () => {
        mustSucceed(pulumi("destroy", "--yes"));
        const left = ["deployments", "replicasets", "pods", "services"].flatMap((kind) =>
            kubectl("get", kind, "-n", "default", "-l", `app=${APP}`).items.map((i: any) => `${kind}/${i.metadata.name}`));
        const svc = kubectl("get", "services", "-n", "default").items.map((s: any) => s.metadata.name);
        check("no Deployment, ReplicaSet, Pod or Service of the app", left.length === 0 && !svc.includes("sample-service"), left);
        const state = JSON.parse(pulumiStdout("stack", "export"));
        const resources = state.deployment?.resources ?? [];
        check("stack has no resources", resources.length === 0, `${resources.length} resources`);
        cluster("stop");
        const running = pids.filter(isRunning);
        check("every cluster process ended", running.length === 0 && pids.length === 5, `${pids.length} started, running now: ${running.join(",") || "none"}`);
    });

    console.log(`\nwall times:\n  ${timings.join("\n  ")}\n  whole e2e: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

main()
    .catch((e) => {
        failed++;
        console.log(`FAIL setup: ${(e as Error).message}`);
    })
    .finally(() => {
        // Whatever happened, leave no cluster process behind.
        for (const pid of clusterPids()) {
            if (isRunning(pid)) {
                try {
                    cluster("stop");
                } catch {
                    /* reported below */
                }
                break;
            }
        }
        fs.rmSync(work, { recursive: true, force: true });
        console.log(`\n${passed} passed, ${failed} failed`);
        process.exitCode = failed === 0 && passed === 7 ? 0 : 1;
    });
