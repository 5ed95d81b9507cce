/**
 * The tutorial's scenario (SCENARIO.md rows 2-7) with the real Pulumi CLI, the real Kubernetes provider and the
 * embedded cluster's real node. Each step runs the `pulumi` commands README.md gives a user, then checks the
 * result as the tutorial's reader saw it, over HTTP on the stack's `url`, and through the Kubernetes API.
 */
import { toolchainValue } from "../../toolchain/versions";
import {
    allClusterPids, APP, appObjects, check, cluster, deployment, hostBefore, kubectl, kubectlText, log, mustSucceed,
    pulumi, pulumiAsync, pulumiStdout, readyPods, run, service, stackResources, step, stillRunning,
} from "./harness";
import { hostChanges } from "./hostState";
import { get, pageOf, startTraffic } from "./http";

const NGINX = toolchainValue("NGINX_IMAGE");
const HTTPD = toolchainValue("HTTPD_IMAGE");
const output = (name: string) => pulumiStdout("stack", "output", name);

run("e2e scenario", 7, "real", async () => {
    let firstPodUid = "";
    let url = "";
    let address = "";

    await step("1. pulumi up: Deployment 1/1, a LoadBalancer Service, and nginx's welcome page on the url (rows 2-3)", async () => {
        mustSucceed(pulumi(["up", "--yes"]));
        const d = deployment();
        const [c] = d.spec.template.spec.containers;
        check("deployment available", d.status.availableReplicas === 1 && d.spec.replicas === 1, `${d.status.availableReplicas}/${d.spec.replicas}`);
        check("selector and pod labels app=sample-app", d.spec.selector.matchLabels.app === APP && d.spec.template.metadata.labels.app === APP,
            { selector: d.spec.selector.matchLabels, labels: d.spec.template.metadata.labels });
        check("strategy RollingUpdate 25%/25%", d.spec.strategy.type === "RollingUpdate" &&
            d.spec.strategy.rollingUpdate.maxSurge === "25%" && d.spec.strategy.rollingUpdate.maxUnavailable === "25%", d.spec.strategy);
        check(`container nginx-container, image ${NGINX}, port 80`, c.name === "nginx-container" && c.image === NGINX &&
            c.ports[0].containerPort === 80, `${c.name} ${c.image} :${c.ports[0].containerPort}`);
        const s = service();
        check("service type LoadBalancer, port 80 → the container's port http", s.spec.type === "LoadBalancer" &&
            s.spec.ports[0].port === 80 && s.spec.ports[0].targetPort === "http", `${s.spec.type} ${s.spec.ports[0].port} → ${s.spec.ports[0].targetPort}`);
        address = s.status.loadBalancer?.ingress?.[0]?.ip ?? "";
        check("load balancer address in the loopback range", /^127\./.test(address), address || "none");
        url = output("url");
        check("stack output url is the load balancer's address and port", url === `http://${address}:80`, url);
        const pods = readyPods();
        check("one Ready pod", pods.length === 1, pods.map((p) => p.metadata.name));
        firstPodUid = pods[0]?.metadata.uid ?? "";
        const answer = await get(url);
        check("GET url: 200 with nginx's welcome page", pageOf(answer) === "nginx", `${answer.status || answer.error} ${answer.body.length} bytes`);
    });

    await step("2. pulumi config set replicas 3 + up: the first pod kept, requests reach all three pods (row 4)", async () => {
        mustSucceed(pulumi(["config", "set", "replicas", "3"]));
        mustSucceed(pulumi(["up", "--yes"]));
        const pods = readyPods();
        check("3 Ready pods", pods.length === 3, pods.map((p) => p.metadata.name));
        check("first pod still there (same UID)", pods.some((p) => p.metadata.uid === firstPodUid), firstPodUid);
        // A marker in the path tells these requests from the kubelet's probes in the access logs.
        const marker = `e2e-${Date.now().toString(36)}`;
        const answers = [];
        for (let i = 0; i < 60; i++) {
            answers.push(await get(`${url}/?${marker}=${i}`));
        }
        check("60 requests on new connections, all 200 from nginx", answers.every((a) => pageOf(a) === "nginx"),
            `${answers.filter((a) => pageOf(a) === "nginx").length} of 60`);
        const perPod = pods.map((p) => kubectlText("logs", p.metadata.name, "-n", "default", "-c", "nginx-container")
            .split("\n").filter((l) => l.includes(marker)).length);
        check("each pod's access log has some of them", perPod.length === 3 && perPod.every((n) => n > 0) &&
            perPod.reduce((a, b) => a + b, 0) === 60, perPod.join(" + ") + " requests");
    });

    await step("3. pulumi config set port 8080 + up: same address and Service, :8080 answers, :80 no longer (row 5)", async () => {
        const before = service();
        mustSucceed(pulumi(["config", "set", "port", "8080"]));
        mustSucceed(pulumi(["up", "--yes"]));
        const s = service();
        check("service port 8080 → the container's port http", s.spec.ports[0].port === 8080 && s.spec.ports[0].targetPort === "http",
            `${s.spec.ports[0].port} → ${s.spec.ports[0].targetPort}`);
        check("same Service UID and cluster IP", s.metadata.uid === before.metadata.uid && s.spec.clusterIP === before.spec.clusterIP,
            `${s.metadata.uid} ${s.spec.clusterIP}`);
        check("same load balancer address", s.status.loadBalancer?.ingress?.[0]?.ip === address, s.status.loadBalancer);
        url = output("url");
        check("stack output url on the same address, port 8080", url === `http://${address}:8080`, url);
        const on8080 = await get(url);
        check("GET :8080 → nginx's page", pageOf(on8080) === "nginx", `${on8080.status || on8080.error}`);
        const on80 = await get(`http://${address}:80/`);
        check(":80 refuses the connection", on80.error === "ECONNREFUSED", on80.error ?? `HTTP ${on80.status}`);
    });

    await step(`4. image ${HTTPD} and replicas 1 + up: rolling update under 20 requests/s, none failed, nginx → "It works!" (row 6)`, async () => {
        const rsBefore = kubectl("get", "replicasets", "-n", "default", "-l", `app=${APP}`).items.map((r: any) => r.metadata.name);
        const traffic = startTraffic(url, 20);
        mustSucceed(pulumi(["config", "set", "image", HTTPD]));
        mustSucceed(pulumi(["config", "set", "replicas", "1"]));
        const r = await pulumiAsync(["up", "--yes"]).done;
        // A moment more: what the last old pod served while it drained.
        await new Promise((resolve) => setTimeout(resolve, 2000));
        const report = await traffic.stop();
        mustSucceed(r);
        log(`traffic: ${report.sent} requests in ${report.seconds.toFixed(1)} s, ${report.failed} failed; answers in order: ${report.pages.join(", ")}`);
        check(`${report.sent} requests, ${report.failed} failed`, report.failed === 0 && report.sent >= 20 * (report.seconds - 1),
            report.failures.length ? report.failures.join("; ") : `${(report.sent / report.seconds).toFixed(1)} requests/s`);
        check("answers switched from nginx's page to \"It works!\"", report.pages[0]?.startsWith("nginx") === true &&
            report.pages[report.pages.length - 1]?.startsWith("httpd") === true, report.pages.join(", "));
        const d = deployment();
        const newRs = kubectl("get", "replicasets", "-n", "default", "-l", `app=${APP}`).items.filter((x: any) => !rsBefore.includes(x.metadata.name));
        check("a new ReplicaSet, revision 2", newRs.length === 1 && d.metadata.annotations["deployment.kubernetes.io/revision"] === "2",
            `${newRs.map((x: any) => x.metadata.name)} revision ${d.metadata.annotations["deployment.kubernetes.io/revision"]}`);
        const pods = readyPods();
        check(`one pod, running ${HTTPD} in container nginx-container (name kept)`, pods.length === 1 &&
            pods[0].spec.containers[0].image === HTTPD && pods[0].spec.containers[0].name === "nginx-container",
            pods.map((p) => `${p.metadata.name} ${p.spec.containers[0].name} ${p.spec.containers[0].image}`));
    });

    await step("5. pulumi preview --expect-no-changes (idempotent)", () => {
        const r = pulumi(["preview", "--expect-no-changes"]);
        check("preview reports no changes", r.code === 0, r.code === 0 ? "no changes" : r.output.split("\n").slice(-15).join("\n"));
    });

    await step("6. pulumi config set replicas -- -1 + preview: refused, nothing changed, still serving", async () => {
        const before = deployment();
        mustSucceed(pulumi(["config", "set", "replicas", "--", "-1"]));
        const r = pulumi(["preview"]);
        check("preview fails", r.code !== 0, `exit ${r.code}`);
        const line = r.output.split("\n").find((l) => l.includes("replicas = -1")) ?? "(no message)";
        check("message names key, value and what is accepted", /replicas = -1: expected an integer from 0 to 1000/.test(r.output), line.trim());
        const after = deployment();
        check("deployment unchanged", after.metadata.generation === before.metadata.generation && after.spec.replicas === 1,
            `generation ${after.metadata.generation}, replicas ${after.spec.replicas}`);
        const answer = await get(url);
        check("the url still answers \"It works!\"", pageOf(answer) === "httpd", `${answer.status || answer.error}`);
        mustSucceed(pulumi(["config", "set", "replicas", "1"]));
        check("value restored", pulumiStdout("config", "get", "replicas") === "1", pulumiStdout("config", "get", "replicas"));
    });

    await step("7. pulumi destroy: the address refuses, nothing of the app left; cluster stop leaves the machine as it was (row 7)", async () => {
        mustSucceed(pulumi(["destroy", "--yes"]));
        const answer = await get(url);
        check("the url refuses the connection", answer.error === "ECONNREFUSED", answer.error ?? `HTTP ${answer.status}`);
        const left = appObjects();
        const svc = kubectl("get", "services", "-n", "default").items.map((s: { metadata: { name: string } }) => s.metadata.name);
        check("no Deployment, ReplicaSet, Pod, Service, PDB or HPA of the app", left.length === 0 && !svc.includes("sample-service"), left);
        const resources = stackResources();
        check("stack has no resources", resources.length === 0, `${resources.length} resources`);
        cluster("stop");
        const pids = allClusterPids();
        const running = await stillRunning(pids);
        check("every cluster process ended (5 control plane, containerd, kubelet, kube-proxy)", running.length === 0 && pids.length === 8,
            `${pids.length} started, running now: ${running.join(",") || "none"}`);
        const changes = hostChanges(hostBefore());
        check("the machine as before start: processes, containers, mounts, namespaces, links, iptables, nftables, cgroups, paths, kernel settings",
            changes.length === 0, changes.length ? changes.slice(0, 20).join("\n      ") : "no difference");
    });
});
