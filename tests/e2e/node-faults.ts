/**
 * Faults that real pods make real, on the embedded cluster's real nodes, with HTTP traffic through the load
 * balancer: a neighbour routing the cluster's ranges to this machine, load-balancer source ranges that leave
 * this machine out, a readiness probe that really fails, an image that is not there (the pull fails), every
 * cluster process killed with SIGKILL, and a changed kubeconfig for the same cluster. Each failed rollout must fail `pulumi up` within rolloutTimeout
 * with the provider's reason while the old pods keep serving; the killed cluster must come back on `start`.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { answerWithin, get, pageOf, startTraffic, TrafficReport } from "../../harness/http";
import { cgroupProcesses, stillRunning } from "../../harness/processes";
import { mustSucceed, tail } from "../../harness/pulumiCommand";
import { toolchainValue } from "../../toolchain/versions";
import { APP } from "./app";
import { e2eSuite } from "./suite";

const suite = e2eSuite("e2e node faults", "real");
const { activeReplicaSets, check, cluster, kubectl, kubectlText, log, pulumi, pulumiAsync, pulumiStdout, readyPods, step, stopClusterLeavingNothing } = suite;
const { clusterDir, kubeconfig } = suite.ws;

const NGINX = toolchainValue("NGINX_IMAGE");
const MISSING = "eks-nginx.local/nginx-debian:0.0.0-missing";
const ROLLOUT_TIMEOUT = 30;
let url = "";

function reportTraffic(report: TrafficReport, only: "nginx"): void {
    log(`traffic: ${report.sent} requests in ${report.seconds.toFixed(1)} s; answers: ${report.pages.join(", ")}`);
    check(`${report.sent} requests, ${report.failed} failed, all answered by the old pods (${only})`, report.failed === 0 &&
        report.sent >= 10 * (report.seconds - 1) && report.pages.every((p) => p.startsWith(only)), report.failures.join("; ") || report.pages.join(", "));
}

/** A rollout that cannot become ready: `pulumi up` fails in time, says why, and the old pods serve throughout. */
async function failingRollout(set: string[], why: RegExp, podReason: (pod: any) => string): Promise<void> {
    const before = activeReplicaSets();
    const traffic = startTraffic(url, 10);
    mustSucceed(pulumi(["config", "set", ...set]));
    const r = await pulumiAsync(["up", "--yes"]).done;
    const report = await traffic.stop();
    check("pulumi up fails", r.code !== 0, `exit ${r.code} after ${r.seconds.toFixed(1)} s`);
    check(`within rolloutTimeout ${ROLLOUT_TIMEOUT} s (+60 s for start-up)`, r.seconds < ROLLOUT_TIMEOUT + 60, `${r.seconds.toFixed(1)} s`);
    const reasons = r.output.split("\n").filter((l) => why.test(l)).map((l) => l.trim());
    check("the provider's reason is in the output", reasons.length > 0, reasons[0] ?? tail(r.output, 15));
    const stuck = kubectl("get", "pods", "-n", "default", "-l", `app=${APP}`).items.filter((p: any) =>
        !(p.status.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True"));
    check("the new pod is not Ready, for the real reason", stuck.length > 0 && stuck.every((p: any) => why.test(podReason(p))),
        stuck.map((p: any) => `${p.metadata.name}: ${podReason(p)}`));
    check("the old pods keep serving: 2 Ready on the old ReplicaSet", readyPods().length === 2 && activeReplicaSets().some((rs) => before.includes(rs)),
        `${readyPods().length} Ready; active ${activeReplicaSets().join(", ")}`);
    reportTraffic(report, "nginx");
}

async function recover(set: string[]): Promise<void> {
    mustSucceed(pulumi(["config", ...set]));
    mustSucceed(pulumi(["up", "--yes"]));
    const rs = activeReplicaSets();
    check(`recovered: 2 Ready pods, one active ReplicaSet on ${NGINX}`, readyPods().length === 2 && rs.length === 1 && rs[0].endsWith(`=${NGINX}`), rs);
}

/** Events of a pod, newest last, as "Reason: message". */
function podEvents(pod: any): string {
    return kubectl("get", "events", "-n", "default", "--field-selector", `involvedObject.name=${pod.metadata.name}`).items
        .map((e: any) => `${e.reason}: ${e.message}`).join(" | ");
}

/** Every process of the cluster: its components and containerd's shims (their command lines name the cluster's
 * folder) and the pods' processes (in the node's cgroups). */
function everyClusterProcess(): number[] {
    const byCommand = fs.readdirSync("/proc").filter((e) => /^\d+$/.test(e)).filter((pid) => {
        try {
            return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(`${clusterDir}/`);
        } catch {
            return false;
        }
    }).map(Number);
    return [...new Set([...byCommand, ...cgroupProcesses("eks-nginx")])].filter((pid) => pid !== process.pid);
}

/** Packets the node's guard chain (iptables mangle, EKS-NGINX-GUARD-IN) has dropped so far. */
function guardDrops(): number {
    return execFileSync("iptables", ["-w", "-t", "mangle", "-L", "EKS-NGINX-GUARD-IN", "-v", "-n", "-x"], { encoding: "utf8" })
        .split("\n").filter((l) => /\bDROP\b/.test(l)).reduce((sum, l) => sum + Number(l.trim().split(/\s+/)[0]), 0);
}

/**
 * A neighbour on another network interface, as a host of the LAN would be: a network namespace joined to this
 * machine by a veth pair (198.18.1.0/24), routing the node and pod networks, the Service range and the load balancer's
 * loopback range through this machine. Removed again, /run/netns included when it was not there before.
 */
async function asNeighbour<T>(body: (fetch: (url: string) => number) => T): Promise<T> {
    const ns = "eks-nginx-e2e-nb";
    const hadNetns = fs.existsSync("/run/netns");
    const ip = (...args: string[]) => execFileSync("ip", args, { encoding: "utf8" });
    try {
        ip("netns", "add", ns);
        ip("link", "add", "eksnb-host", "type", "veth", "peer", "name", "eksnb-peer");
        ip("link", "set", "eksnb-peer", "netns", ns);
        ip("addr", "add", "198.18.1.1/24", "dev", "eksnb-host");
        ip("link", "set", "eksnb-host", "up");
        ip("-n", ns, "addr", "add", "198.18.1.2/24", "dev", "eksnb-peer");
        ip("-n", ns, "link", "set", "eksnb-peer", "up");
        for (const range of ["198.18.0.0/24", "198.19.0.0/16", "10.96.0.0/16", "127.96.0.0/16"]) {
            ip("-n", ns, "route", "add", range, "via", "198.18.1.1");
        }
        // curl's exit status: 0 with an HTTP answer, 28 on a timeout (nothing came back).
        return body((url) => spawnSync("ip", ["netns", "exec", ns, "curl", "-s", "-o", "/dev/null", "-m", "2", url]).status ?? -1);
    } finally {
        spawnSync("ip", ["netns", "del", ns]);
        spawnSync("ip", ["link", "del", "eksnb-host"]);
        if (!hadNetns && fs.existsSync("/run/netns")) {
            spawnSync("umount", ["/run/netns"]);
            spawnSync("rmdir", ["/run/netns"]);
        }
    }
}

/**
 * A kubeconfig for the same API server as the cluster's own, with new client credentials (a new key and
 * certificate, signed by the cluster's CA, of another cluster admin), another context name, and the server's
 * address in another form (`localhost` for `127.0.0.1`, which its certificate names too): what a credential
 * rotation, a regenerated kubeconfig or a DNS name in front of the API gives.
 */
function rotatedKubeconfig(): string {
    const dir = fs.mkdtempSync(path.join(suite.ws.dir, "rotated-"));
    const [key, csr, ext, crt] = ["admin.key", "admin.csr", "admin.ext", "admin.crt"].map((f) => path.join(dir, f));
    const pki = path.join(clusterDir, "pki");
    const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key);
    openssl("req", "-new", "-key", key, "-subj", "/O=system:masters/CN=rotated-admin", "-out", csr);
    fs.writeFileSync(ext, "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n");
    openssl("x509", "-req", "-in", csr, "-CA", path.join(pki, "ca.crt"), "-CAkey", path.join(pki, "ca.key"),
        "-CAserial", path.join(dir, "ca.srl"), "-CAcreateserial", "-days", "1", "-sha256", "-extfile", ext, "-out", crt);
    const config = parseYaml(fs.readFileSync(kubeconfig, "utf8"));
    const b64 = (file: string) => fs.readFileSync(file).toString("base64");
    config.users = [{ name: "rotated-admin", user: { "client-certificate-data": b64(crt), "client-key-data": b64(key) } }];
    config.contexts = [{ name: "rotated", context: { cluster: config.contexts[0].context.cluster, user: "rotated-admin" } }];
    config["current-context"] = "rotated";
    config.clusters[0].cluster.server = config.clusters[0].cluster.server.replace("//127.0.0.1:", "//localhost:");
    const file = path.join(dir, "kubeconfig");
    fs.writeFileSync(file, toYaml(config), { mode: 0o600 });
    return file;
}

suite.run(9, async () => {
    await step("F1. pulumi up with 2 replicas and rolloutTimeout 30: nginx serves on the url", async () => {
        mustSucceed(pulumi(["config", "set", "replicas", "2"]));
        mustSucceed(pulumi(["config", "set", "rolloutTimeout", String(ROLLOUT_TIMEOUT)]));
        mustSucceed(pulumi(["up", "--yes"]));
        url = pulumiStdout("stack", "output", "url");
        const answer = await get(url);
        check("GET url → nginx's page", pageOf(answer) === "nginx", `${url}: ${answer.status || answer.error}`);
    });

    await step("F2. a neighbour that routes the pod, Service and load-balancer ranges here gets nothing; the guard drops it", async () => {
        const s = kubectl("get", "service", "sample-service", "-n", "default");
        const pod = readyPods()[0];
        const targets = [`http://${pod.status.podIP}/`, `http://${s.spec.clusterIP}/`, url];
        const dropsBefore = guardDrops();
        const codes = await asNeighbour((fetch) => targets.map((t) => `${t} → curl exit ${fetch(t)}`));
        const dropped = guardDrops() - dropsBefore;
        check("pod, ClusterIP and load-balancer address: no answer (curl times out)", codes.every((c) => c.endsWith("exit 28")), codes);
        check("the guard chain dropped the neighbour's packets", dropped >= targets.length, `${dropped} packets dropped`);
        const answer = await get(url);
        check("this machine still gets nginx's page", pageOf(answer) === "nginx", `${answer.status || answer.error}`);
    });

    await step("F3. loadBalancer.sourceRanges: a client outside the ranges gets no answer, one inside does", async () => {
        mustSucceed(pulumi(["config", "set", "--path", "loadBalancer.sourceRanges[0]", "10.0.0.0/8"]));
        mustSucceed(pulumi(["up", "--yes"]));
        // The load balancer applies a Service's change after `up` returns, as a cloud's does: within seconds.
        const outside = await answerWithin(url, "other", 10);
        check(`sourceRanges [10.0.0.0/8]: this machine's request (from 127.0.0.1) is refused, ${outside.seconds.toFixed(1)} s after up returned`,
            pageOf(outside.answer) === "other", outside.answer.error ?? `HTTP ${outside.answer.status}`);
        mustSucceed(pulumi(["config", "set", "--path", "loadBalancer.sourceRanges[0]", "127.0.0.0/8"]));
        mustSucceed(pulumi(["up", "--yes"]));
        const inside = await answerWithin(url, "nginx", 10);
        check(`sourceRanges [127.0.0.0/8]: nginx's page, ${inside.seconds.toFixed(1)} s after up returned`, pageOf(inside.answer) === "nginx",
            inside.answer.error ?? `HTTP ${inside.answer.status}`);
        mustSucceed(pulumi(["config", "rm", "loadBalancer"]));
        mustSucceed(pulumi(["up", "--yes"]));
    });

    await step("F4. a readiness probe that really fails (containerPort 8080, nginx listens on 80): up fails in time, old pods serve", async () => {
        await failingRollout(["containerPort", "8080"], /unready|Readiness probe failed|not attained/i,
            (pod) => `${pod.status.conditions?.find((c: any) => c.type === "Ready")?.message ?? ""} ${podEvents(pod)}`);
        await recover(["rm", "containerPort"]);
    });

    await step("F5. an image that is not there: the pull fails, up fails in time with the reason, old pods serve", async () => {
        await failingRollout(["image", MISSING], /ErrImagePull|ImagePullBackOff|pull/i,
            (pod) => pod.status.containerStatuses?.[0]?.state?.waiting?.reason ?? JSON.stringify(pod.status.containerStatuses?.[0]?.state));
        await recover(["set", "image", NGINX]);
    });

    await step("F5b. pods that never become ready behind a changed Service (nodes cordoned, pods deleted, their replacements Pending): up with port 8081 fails within rolloutTimeout and says why; uncordoned, :8081 serves the moment up returns", async () => {
        const nodes = kubectl("get", "nodes").items.map((n: any) => n.metadata.name as string);
        kubectlText("cordon", ...nodes);
        try {
            kubectlText("delete", "pods", "-n", "default", "-l", `app=${APP}`, "--wait=false");
            mustSucceed(pulumi(["config", "set", "port", "8081"]));
            const r = pulumi(["up", "--yes"]);
            check("pulumi up fails", r.code !== 0, `exit ${r.code} after ${r.seconds.toFixed(1)} s`);
            check(`within rolloutTimeout ${ROLLOUT_TIMEOUT} s (+60 s for start-up)`, r.seconds < ROLLOUT_TIMEOUT + 60, `${r.seconds.toFixed(1)} s`);
            const reason = r.output.split("\n").find((l) => /0 of 2 pods ready behind Service sample-service/.test(l))?.trim();
            check("the readiness check's reason: no pod ready behind the Service, and why (unschedulable)", reason !== undefined && /unschedulable/i.test(reason),
                reason ?? tail(r.output, 15));
        } finally {
            kubectlText("uncordon", ...nodes);
        }
        mustSucceed(pulumi(["up", "--yes"]));
        const right = await get(url.replace(/:\d+$/, ":8081"));
        check("uncordoned: up succeeds, and the moment it returned :8081 serves nginx's page", pageOf(right) === "nginx", `${right.status || right.error}`);
        mustSucceed(pulumi(["config", "rm", "port"]));
        mustSucceed(pulumi(["up", "--yes"]));
    });

    await step("F6. every cluster process killed with SIGKILL: start brings the cluster, its pods and the url back", async () => {
        const victims = everyClusterProcess();
        for (const pid of victims) {
            try {
                process.kill(pid, "SIGKILL");
            } catch {
                /* gone already */
            }
        }
        const left = await stillRunning(victims, 5);
        const down = await get(url, 1000);
        check(`killed ${victims.length} processes (components, shims, pods); the url does not answer`, left.length === 0 && pageOf(down) === "other",
            `running: ${left.join(",") || "none"}; url: ${down.error ?? down.status}`);
        const t0 = Date.now();
        cluster("start");
        // Ready again with containers started after the crash: right after the restart the API still shows the old status.
        const rerun = () => readyPods().filter((p) => Date.parse(p.status.containerStatuses?.[0]?.state?.running?.startedAt ?? "") >= t0 - 1000);
        while (rerun().length < 2 && Date.now() - t0 < 90_000) {
            await new Promise((r) => setTimeout(r, 500));
        }
        check("the kubelet runs the 2 pods again, Ready", rerun().length === 2, `${rerun().length} after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        const { answer } = await answerWithin(url, "nginx", Math.max(0, 90 - (Date.now() - t0) / 1000));
        check("the url answers nginx's page again", pageOf(answer) === "nginx", `after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        const r = pulumi(["preview", "--expect-no-changes"]);
        check("pulumi preview --expect-no-changes: the stack matches the recovered cluster", r.code === 0, r.code === 0 ? "no changes" : tail(r.output, 12));
    });

    await step("F7. a changed kubeconfig for the same cluster (new credentials, another context, the server as localhost): the provider is updated, nothing replaced, the app serves", async () => {
        const service = kubectl("get", "service", "sample-service", "-n", "default");
        const pods = readyPods().map((p) => p.metadata.uid).sort();
        mustSucceed(pulumi(["config", "set", "kubeconfig", rotatedKubeconfig()]));
        const preview = pulumi(["preview", "--json"]);
        const steps: { op: string; urn: string }[] = preview.code === 0 ? JSON.parse(preview.output.slice(preview.output.indexOf("{"))).steps ?? [] : [];
        const changed = steps.filter((st) => st.op !== "same").map((st) => `${st.op} ${st.urn.split("::").slice(-2).join("::")}`);
        check("pulumi preview: the Kubernetes provider updated, no object replaced", preview.code === 0 && changed.length > 0 &&
            changed.every((c) => c.startsWith("update ") && c.includes("pulumi:providers:kubernetes")), changed.join(", ") || tail(preview.output, 10));
        const traffic = startTraffic(url, 10);
        const up = await pulumiAsync(["up", "--yes"]).done;
        const report = await traffic.stop();
        check("pulumi up", up.code === 0, up.code === 0 ? `${up.seconds.toFixed(1)} s` : tail(up.output, 10));
        const after = kubectl("get", "service", "sample-service", "-n", "default");
        check("same Service UID and load balancer address", after.metadata.uid === service.metadata.uid &&
            JSON.stringify(after.status.loadBalancer) === JSON.stringify(service.status.loadBalancer), `${after.metadata.uid} ${JSON.stringify(after.status.loadBalancer)}`);
        check("the same pods, Ready", JSON.stringify(readyPods().map((p) => p.metadata.uid).sort()) === JSON.stringify(pods), readyPods().map((p) => p.metadata.name));
        log(`traffic: ${report.sent} requests in ${report.seconds.toFixed(1)} s; answers: ${report.pages.join(", ")}`);
        check(`${report.sent} requests, ${report.failed} failed`, report.failed === 0 && report.sent >= 10 * (report.seconds - 1),
            report.failures.join("; ") || `${report.sent} sent`);
        const again = pulumi(["preview", "--expect-no-changes"]);
        check("the stack settled on the new kubeconfig: no further changes", again.code === 0, again.code === 0 ? "no changes" : tail(again.output, 10));
    });

    await step("F8. pulumi destroy, cluster stop: nothing left, the machine as before start", async () => {
        mustSucceed(pulumi(["destroy", "--yes"]));
        const answer = await get(url);
        check("the url refuses the connection", answer.error === "ECONNREFUSED", answer.error ?? `HTTP ${answer.status}`);
        // Two starts (the first, and the one after SIGKILL) of 3 nodes each.
        await stopClusterLeavingNothing(40);
    });
});
