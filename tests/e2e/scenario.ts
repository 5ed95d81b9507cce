/**
 * The tutorial (tests/e2e/tutorial.ts) on the embedded cluster's real node: the load balancer answers on a
 * loopback address, and after `pulumi destroy` and `cluster stop` the machine must be as it was before `start`.
 */
import { toolchainValue } from "../../toolchain/versions";
import { allClusterPids, appObjects, check, cluster, hostBefore, kubectl, run, step, stillRunning } from "./harness";
import { clusterSocketsOffLoopback, hostChanges } from "./hostState";
import { get } from "./http";
import { TutorialTarget, tutorialSteps } from "./tutorial";

const embedded: TutorialTarget = {
    images: { nginx: toolchainValue("NGINX_IMAGE"), httpd: toolchainValue("HTTPD_IMAGE") },
    address: { of: (ingress) => ingress.ip ?? "", expected: /^127\.96\.\d+\.\d+$/, description: "127.96.x.y, in the loopback range" },
    firstAnswer: async (url) => {
        const answer = await get(url);
        const exposed = clusterSocketsOffLoopback();
        check("every listening socket of the cluster is on loopback (or inside a pod)", exposed.length === 0,
            exposed.length ? exposed.join("\n      ") : "none elsewhere");
        return answer;
    },
    refused: (a) => a.error === "ECONNREFUSED",
    afterDestroy: async () => {
        const left = appObjects();
        const svc = kubectl("get", "services", "-n", "default").items.map((s: { metadata: { name: string } }) => s.metadata.name);
        check("no Deployment, ReplicaSet, Pod, Service, PDB or HPA of the app", left.length === 0 && !svc.includes("sample-service"), left);
        cluster("stop");
        const pids = allClusterPids();
        const running = await stillRunning(pids);
        check("cluster stop: every cluster process ended (5 control plane, containerd, kubelet, kube-proxy)", running.length === 0 && pids.length === 8,
            `${pids.length} started, running now: ${running.join(",") || "none"}`);
        const changes = hostChanges(hostBefore());
        check("the machine as before start: processes, containers, mounts, namespaces, links, iptables, nftables, cgroups, paths, kernel settings",
            changes.length === 0, changes.length ? changes.slice(0, 20).join("\n      ") : "no difference");
    },
};

const steps = tutorialSteps(embedded);
run("e2e scenario", steps.length, "real", async () => {
    for (const s of steps) {
        await step(s.title, s.run);
    }
});
