/**
 * The tutorial (tests/e2e/tutorial.ts) on the embedded cluster's real nodes: the load balancer answers on a
 * loopback address, and after `pulumi destroy` and `cluster stop` the machine must be as it was before `start`.
 */
import { clusterSocketsOffLoopback } from "../../harness/hostState";
import { get } from "../../harness/http";
import { toolchainValue } from "../../toolchain/versions";
import { e2eSuite } from "./suite";
import { TutorialTarget, tutorialSteps } from "./tutorial";

const suite = e2eSuite("e2e scenario", "real");
const { appObjects, check, kubectl, step, stopClusterLeavingNothing } = suite;

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
    servesWhenUpReturns: true,
    afterDestroy: async () => {
        const left = appObjects();
        const svc = kubectl("get", "services", "-n", "default").items.map((s: { metadata: { name: string } }) => s.metadata.name);
        check("no Deployment, ReplicaSet, Pod, Service, PDB or HPA of the app", left.length === 0 && !svc.includes("sample-service"), left);
        await stopClusterLeavingNothing(20);
    },
};

const steps = tutorialSteps(embedded, suite);
suite.run(steps.length, async () => {
    for (const s of steps) {
        await step(s.title, s.run);
    }
});
