/**
 * The tutorial's scenario (SCENARIO.md rows 2-7) with the real Pulumi CLI, the real Kubernetes provider
 * and the embedded control plane. Each step runs the `pulumi` commands README.md gives a user, then checks
 * the result through the Kubernetes API (kubectl), not through Pulumi's own outputs.
 */
import {
    allClusterPids, APP, appObjects, appPods, check, cluster, deployment, kubectl, mustSucceed, pulumi,
    pulumiAsync, pulumiStdout, readyPods, run, service, stackResources, step, stillRunning, watch,
} from "./harness";

const output = (name: string) => pulumiStdout("stack", "output", name);

run("e2e scenario", 7, async () => {
    let firstPodUid = "";

    await step("1. pulumi up: Deployment 1/1 and a LoadBalancer Service (tutorial rows 2-3)", () => {
        mustSucceed(pulumi(["up", "--yes"]));
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
        mustSucceed(pulumi(["config", "set", "replicas", "3"]));
        mustSucceed(pulumi(["up", "--yes"]));
        const pods = readyPods();
        check("3 Ready pods", pods.length === 3, pods.map((p) => p.metadata.name));
        check("first pod still there (same UID)", pods.some((p) => p.metadata.uid === firstPodUid), firstPodUid);
        check("deployment spec.replicas 3", deployment().spec.replicas === 3, deployment().spec.replicas);
    });

    await step("3. pulumi config set port 8080 + up: Service updated in place (row 5)", () => {
        const before = service();
        mustSucceed(pulumi(["config", "set", "port", "8080"]));
        mustSucceed(pulumi(["up", "--yes"]));
        const s = service();
        check("service port 8080 → targetPort 80", s.spec.ports[0].port === 8080 && s.spec.ports[0].targetPort === 80,
            `${s.spec.ports[0].port} → ${s.spec.ports[0].targetPort}`);
        check("same Service UID", s.metadata.uid === before.metadata.uid, s.metadata.uid);
        check("same cluster IP", s.spec.clusterIP === before.spec.clusterIP, s.spec.clusterIP);
        check("same load balancer address", JSON.stringify(s.status.loadBalancer) === JSON.stringify(before.status.loadBalancer),
            s.status.loadBalancer);
        check("stack output url on 8080", output("url").endsWith(":8080"), output("url"));
    });

    await step("4. image httpd:2.4 and replicas 1 + up: rolling update, never 0 available (row 6)", async () => {
        const rsBefore = kubectl("get", "replicasets", "-n", "default", "-l", `app=${APP}`).items.map((r: any) => r.metadata.name);
        mustSucceed(pulumi(["config", "set", "image", "httpd:2.4"]));
        mustSucceed(pulumi(["config", "set", "replicas", "1"]));
        const watcher = watch(() => deployment().status.availableReplicas ?? 0);
        const r = await pulumiAsync(["up", "--yes"]).done;
        const seen = await watcher.stop();
        mustSucceed(r);
        const d = deployment();
        const rsAfter = kubectl("get", "replicasets", "-n", "default", "-l", `app=${APP}`).items;
        const newRs = rsAfter.filter((x: any) => !rsBefore.includes(x.metadata.name));
        check("a new ReplicaSet", newRs.length === 1, newRs.map((x: any) => x.metadata.name));
        check("deployment revision 2", d.metadata.annotations["deployment.kubernetes.io/revision"] === "2",
            d.metadata.annotations["deployment.kubernetes.io/revision"]);
        const pods = appPods().filter((p) => !p.metadata.deletionTimestamp);
        check("one pod, running httpd:2.4", pods.length === 1 && pods[0].spec.containers[0].image === "httpd:2.4",
            pods.map((p) => `${p.metadata.name} ${p.spec.containers[0].image} ${p.status.phase}`));
        check(`available replicas never 0 during the rollout (${seen.length} samples)`, seen.length > 0 && Math.min(...seen) >= 1,
            `min ${Math.min(...seen)}, samples ${seen.join(",")}`);
    });

    await step("5. pulumi preview --expect-no-changes (idempotent)", () => {
        const r = pulumi(["preview", "--expect-no-changes"]);
        check("preview reports no changes", r.code === 0, r.code === 0 ? "no changes" : r.output.split("\n").slice(-15).join("\n"));
    });

    await step("6. pulumi config set replicas -- -1 + preview: refused, cluster unchanged", () => {
        const before = deployment();
        mustSucceed(pulumi(["config", "set", "replicas", "--", "-1"]));
        const r = pulumi(["preview"]);
        check("preview fails", r.code !== 0, `exit ${r.code}`);
        const line = r.output.split("\n").find((l) => l.includes("replicas = -1")) ?? "(no message)";
        check("message names key, value and what is accepted", /replicas = -1: expected an integer from 0 to 1000/.test(r.output), line.trim());
        const after = deployment();
        check("deployment unchanged", after.metadata.generation === before.metadata.generation && after.spec.replicas === 1,
            `generation ${after.metadata.generation}, replicas ${after.spec.replicas}`);
        mustSucceed(pulumi(["config", "set", "replicas", "1"]));
        check("value restored", pulumiStdout("config", "get", "replicas") === "1", pulumiStdout("config", "get", "replicas"));
    });

    await step("7. pulumi destroy: nothing of the app left, empty stack, cluster stopped (row 7)", async () => {
        mustSucceed(pulumi(["destroy", "--yes"]));
        const left = appObjects();
        const svc = kubectl("get", "services", "-n", "default").items.map((s: { metadata: { name: string } }) => s.metadata.name);
        check("no Deployment, ReplicaSet, Pod, Service, PDB or HPA of the app", left.length === 0 && !svc.includes("sample-service"), left);
        const resources = stackResources();
        check("stack has no resources", resources.length === 0, `${resources.length} resources`);
        cluster("stop");
        const pids = allClusterPids();
        const running = await stillRunning(pids);
        check("every cluster process ended", running.length === 0 && pids.length === 5, `${pids.length} started, running now: ${running.join(",") || "none"}`);
    });
});
