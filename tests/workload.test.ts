import * as assert from "assert";
import { configMap, one, ofType, runProgram, stageConfig, writeTempKubeconfig } from "../harness/mocks";

/** Workload defaults: disruption budget, autoscaler, topology spread, container hardening, rollout timeout. */

function deploymentSpec() {
    return one("kubernetes:apps/v1:Deployment").inputs.spec;
}

function container() {
    return deploymentSpec().template.spec.containers[0];
}

function local(values: Record<string, unknown> = {}) {
    return runProgram({ ...stageConfig("local"), ...configMap({ kubeconfig: writeTempKubeconfig(), ...values }) });
}

describe("workload: PodDisruptionBudget", () => {
    it("makes none for one replica (it would block every node drain)", async () => {
        await local({ replicas: "1" });
        assert.strictEqual(ofType("kubernetes:policy/v1:PodDisruptionBudget").length, 0);
    });

    it("makes one for 2 replicas, maxUnavailable 1, selecting the Deployment's pods", async () => {
        await local({ replicas: "2" });
        const pdb = one("kubernetes:policy/v1:PodDisruptionBudget").inputs;
        assert.strictEqual(pdb.metadata.name, "sample-pdb");
        assert.deepStrictEqual(pdb.spec, { maxUnavailable: 1, selector: { matchLabels: deploymentSpec().template.metadata.labels } });
    });

    it("takes maxUnavailable from pdbMaxUnavailable", async () => {
        await local({ replicas: "4", pdbMaxUnavailable: "50%" });
        assert.strictEqual(one("kubernetes:policy/v1:PodDisruptionBudget").inputs.spec.maxUnavailable, "50%");
    });
});

describe("workload: HorizontalPodAutoscaler", () => {
    it("makes none by default; the Deployment's replicas are pulumi's", async () => {
        await local({ replicas: "3" });
        assert.strictEqual(ofType("kubernetes:autoscaling/v2:HorizontalPodAutoscaler").length, 0);
        assert.strictEqual(deploymentSpec().replicas, 3);
        assert.deepStrictEqual(one("kubernetes:apps/v1:Deployment").ignoreChanges, []);
        assert.strictEqual(one("kubernetes:apps/v1:Deployment").inputs.metadata.annotations["eks-nginx/replicas-managed-by"], "pulumi");
    });

    it("when enabled, targets the Deployment on CPU and leaves the count to it (ignoreChanges spec.replicas)", async () => {
        await local({ replicas: "3", autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 7, targetCpuUtilization: 60 } });
        const hpa = one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler").inputs;
        assert.deepStrictEqual(hpa.spec, {
            scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "sample-deployment" },
            minReplicas: 2,
            maxReplicas: 7,
            metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 60 } } }],
        });
        // Kept (a new Deployment starts at max(replicas, minReplicas)), but never reset or diffed by pulumi up.
        assert.strictEqual(deploymentSpec().replicas, 3);
        assert.deepStrictEqual(one("kubernetes:apps/v1:Deployment").ignoreChanges, ["spec.replicas"]);
        // Switching owners is a change of its own: turning autoscaling off re-applies replicas.
        assert.deepStrictEqual(one("kubernetes:apps/v1:Deployment").inputs.metadata.annotations,
            { "pulumi.com/patchForce": "true", "eks-nginx/replicas-managed-by": "HorizontalPodAutoscaler" });
        // minReplicas 2 → a disruption budget.
        assert.strictEqual(ofType("kubernetes:policy/v1:PodDisruptionBudget").length, 1);
    });

    it("fills unset autoscaling settings with the documented defaults", async () => {
        await local({ autoscaling: { enabled: true } });
        const hpa = one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler").inputs.spec;
        assert.deepStrictEqual([hpa.minReplicas, hpa.maxReplicas, hpa.metrics[0].resource.target.averageUtilization], [2, 5, 70]);
        assert.strictEqual(deploymentSpec().replicas, 2, "a new Deployment starts at minReplicas, not replicas 1");
    });
});

describe("workload: topology spread", () => {
    it("spreads over hostnames and zones on a kubeconfig cluster, preferring (ScheduleAnyway)", async () => {
        await local();
        assert.deepStrictEqual(deploymentSpec().template.spec.topologySpreadConstraints, ["kubernetes.io/hostname", "topology.kubernetes.io/zone"].map((topologyKey) => ({
            maxSkew: 1, topologyKey, whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: { app: "sample-app" } },
        })));
    });

    it("requires (DoNotSchedule) on a kubeconfig cluster over hostnames only: without zone labels a required zone spread places no pod", async () => {
        await local({ topologySpread: "DoNotSchedule" });
        assert.deepStrictEqual(deploymentSpec().template.spec.topologySpreadConstraints.map((c: { topologyKey: string; whenUnsatisfiable: string }) =>
            [c.topologyKey, c.whenUnsatisfiable]), [["kubernetes.io/hostname", "DoNotSchedule"]]);
    });

    it("spreads over nodes and zones on EKS, required in prod", async () => {
        await runProgram(stageConfig("prod"));
        const constraints = deploymentSpec().template.spec.topologySpreadConstraints;
        assert.deepStrictEqual(constraints.map((c: { topologyKey: string; whenUnsatisfiable: string }) => [c.topologyKey, c.whenUnsatisfiable]), [
            ["kubernetes.io/hostname", "DoNotSchedule"], ["topology.kubernetes.io/zone", "DoNotSchedule"],
        ]);
    });

    it("can be turned off", async () => {
        await local({ topologySpread: "Off" });
        assert.deepStrictEqual(deploymentSpec().template.spec.topologySpreadConstraints, []);
    });
});

describe("workload: container security context", () => {
    it("by default: no escalation, not privileged, seccomp RuntimeDefault, drop ALL, add back what nginx needs", async () => {
        await local();
        assert.deepStrictEqual(container().securityContext, {
            allowPrivilegeEscalation: false,
            privileged: false,
            capabilities: { drop: ["ALL"], add: ["CHOWN", "DAC_OVERRIDE", "NET_BIND_SERVICE", "SETGID", "SETUID"] },
            seccompProfile: { type: "RuntimeDefault" },
        });
    });

    it("runAsNonRoot: user 101 and no capabilities added back", async () => {
        await local({ image: "nginxinc/nginx-unprivileged:1.28.0", containerPort: "8080", security: { runAsNonRoot: true } });
        const sc = container().securityContext;
        assert.strictEqual(sc.runAsNonRoot, true);
        assert.strictEqual(sc.runAsUser, 101);
        assert.deepStrictEqual(sc.capabilities, { drop: ["ALL"] });
        assert.strictEqual(container().ports[0].containerPort, 8080);
    });

    it("takes a configured capability list and user id", async () => {
        await local({ security: { runAsNonRoot: true, runAsUser: 1000, capabilities: ["NET_BIND_SERVICE"] } });
        const sc = container().securityContext;
        assert.deepStrictEqual([sc.runAsUser, sc.capabilities.add], [1000, ["NET_BIND_SERVICE"]]);
    });
});

describe("workload: rollout timeout", () => {
    it("gives the Deployment and Service the default 600 s to become ready", async () => {
        await local();
        for (const type of ["kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service"]) {
            const t = one(type).customTimeouts;
            assert.deepStrictEqual([t?.create, t?.update], ["600s", "600s"], type);
        }
    });

    it("follows rolloutTimeout", async () => {
        await local({ rolloutTimeout: "45" });
        const t = one("kubernetes:apps/v1:Deployment").customTimeouts;
        assert.deepStrictEqual([t?.create, t?.update], ["45s", "45s"]);
    });
});

describe("workload: container name and drain", () => {
    it("keeps the tutorial's container name across an image swap, and takes another when configured", async () => {
        await local({ image: "httpd:2.4" });
        assert.strictEqual(container().name, "nginx-container");
        await local({ image: "httpd:2.4", containerName: "web" });
        assert.strictEqual(container().name, "web");
    });

    it("follows drainSeconds (preStop sleep, grace period 30 s longer); 0 turns the drain off", async () => {
        await local({ drainSeconds: "20" });
        assert.deepStrictEqual(container().lifecycle, { preStop: { sleep: { seconds: 20 } } });
        assert.strictEqual(one("kubernetes:apps/v1:Deployment").inputs.spec.template.spec.terminationGracePeriodSeconds, 50);
        await local({ drainSeconds: "0" });
        assert.strictEqual(container().lifecycle, undefined);
        assert.strictEqual(one("kubernetes:apps/v1:Deployment").inputs.spec.template.spec.terminationGracePeriodSeconds, 30);
    });
});

describe("workload: pods on a lost node", () => {
    const tolerations = () => one("kubernetes:apps/v1:Deployment").inputs.spec.template.spec.tolerations;
    it("tolerates an unreachable or not-ready node for 30 s by default (not Kubernetes' 300), explicitly", async () => {
        await local();
        assert.deepStrictEqual(tolerations(), [
            { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 30 },
            { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 30 },
        ]);
    });

    it("follows unreachableNodeSeconds", async () => {
        await local({ unreachableNodeSeconds: "300" });
        assert.deepStrictEqual(tolerations().map((t: { tolerationSeconds: number }) => t.tolerationSeconds), [300, 300]);
    });
});
