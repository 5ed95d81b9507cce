import * as assert from "assert";
import { ALLOW_INTERNET, AWS_LB_INTERNAL, AWS_LB_TYPE } from "../policy/annotations";
import { configMap, one, runProgram, stageConfig, writeTempKubeconfig } from "../harness/mocks";
import { WAIT_FOR } from "../components/webApp";

/** The provider's await of a Service on port 80: its address (or cluster IP), and the port asked for. */
const LB_ADDRESS = JSON.stringify(["jsonpath={.status.loadBalancer.ingress[0]}", "jsonpath={.spec.ports[0].port}=80"]);
const CLUSTER_IP = JSON.stringify(["jsonpath={.spec.clusterIP}", "jsonpath={.spec.ports[0].port}=80"]);

/**
 * The registered Service's load-balancer annotations (undefined: none), the provider's await condition
 * (pulumi.com/waitFor, on every Service), source ranges and replacement options.
 */
function service() {
    const s = one("kubernetes:core/v1:Service");
    const { [WAIT_FOR]: waitFor, ...annotations } = s.inputs.metadata.annotations ?? {};
    return {
        annotations: Object.keys(annotations).length > 0 ? annotations : undefined,
        waitFor,
        sourceRanges: s.inputs.spec.loadBalancerSourceRanges,
        type: s.inputs.spec.type,
        replaceOnChanges: s.replaceOnChanges,
        deleteBeforeReplace: s.deleteBeforeReplace,
    };
}

const dev = (loadBalancer: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    runProgram({ ...stageConfig("dev"), ...configMap({ loadBalancer, ...extra }) });

const REPLACE_ON_EKS = [
    'metadata.annotations["service.beta.kubernetes.io/aws-load-balancer-type"]',
    'metadata.annotations["service.beta.kubernetes.io/aws-load-balancer-internal"]',
];

describe("load balancer on EKS (loadBalancer)", () => {
    it("by default is the tutorial's: a Classic Load Balancer, internet-facing, no annotation, every address", async () => {
        await runProgram(stageConfig("dev"));
        assert.deepStrictEqual(service(), {
            annotations: undefined, waitFor: LB_ADDRESS, sourceRanges: undefined, type: "LoadBalancer",
            replaceOnChanges: REPLACE_ON_EKS, deleteBeforeReplace: true,
        });
    });

    it("type nlb: the in-tree annotation aws-load-balancer-type nlb", async () => {
        await dev({ type: "nlb" });
        assert.deepStrictEqual(service().annotations, { [AWS_LB_TYPE]: "nlb" });
    });

    it("scheme internal: the in-tree annotation aws-load-balancer-internal \"true\"", async () => {
        await dev({ type: "classic", scheme: "internal" });
        assert.deepStrictEqual(service().annotations, { [AWS_LB_INTERNAL]: "true" });
    });

    it("sourceRanges: the Service's loadBalancerSourceRanges, IPv4 and IPv6, without annotations", async () => {
        await dev({ sourceRanges: ["203.0.113.0/24", "198.51.100.16/28", "2001:db8::/32"] });
        assert.deepStrictEqual(service().sourceRanges, ["203.0.113.0/24", "198.51.100.16/28", "2001:db8::/32"]);
        assert.strictEqual(service().annotations, undefined);
    });

    it("allowInternet: the annotation the policy rule accepts", async () => {
        await dev({ type: "nlb", allowInternet: true });
        assert.deepStrictEqual(service().annotations, { [AWS_LB_TYPE]: "nlb", [ALLOW_INTERNET]: "true" });
        assert.strictEqual(service().sourceRanges, undefined);
    });

    it("prod: an NLB open to the internet on purpose", async () => {
        await runProgram(stageConfig("prod"));
        assert.deepStrictEqual(service().annotations, { [AWS_LB_TYPE]: "nlb", [ALLOW_INTERNET]: "true" });
    });

    it("replaces the Service (deleting it first) when type or scheme annotations change, whatever the service type", async () => {
        // Leaving LoadBalancer removes an nlb annotation as well: that too must not be done in place.
        await runProgram({ ...stageConfig("dev"), ...configMap({ serviceType: "NodePort" }) });
        assert.deepStrictEqual(service(), {
            annotations: undefined, waitFor: CLUSTER_IP, sourceRanges: undefined, type: "NodePort",
            replaceOnChanges: REPLACE_ON_EKS, deleteBeforeReplace: true,
        });
    });
});

describe("load balancer on a kubeconfig cluster (loadBalancer)", () => {
    it("applies sourceRanges and allowInternet, sets no AWS annotation, replaces nothing", async () => {
        await runProgram({ ...stageConfig("local"), ...configMap({ kubeconfig: writeTempKubeconfig(), serviceType: "LoadBalancer",
            loadBalancer: { sourceRanges: ["10.0.0.0/8"] } }) });
        assert.deepStrictEqual(service(), {
            annotations: undefined, waitFor: LB_ADDRESS, sourceRanges: ["10.0.0.0/8"], type: "LoadBalancer", replaceOnChanges: [], deleteBeforeReplace: false,
        });
        await runProgram({ ...stageConfig("local"), ...configMap({ kubeconfig: writeTempKubeconfig(), serviceType: "LoadBalancer",
            loadBalancer: { allowInternet: true } }) });
        assert.deepStrictEqual(service().annotations, { [ALLOW_INTERNET]: "true" });
    });

    it("leaves the local stage's Service without load balancer settings as it was", async () => {
        await runProgram({ ...stageConfig("local"), ...configMap({ kubeconfig: writeTempKubeconfig() }) });
        assert.deepStrictEqual(service(), {
            annotations: undefined, waitFor: LB_ADDRESS, sourceRanges: undefined, type: "LoadBalancer", replaceOnChanges: [], deleteBeforeReplace: false,
        });
    });
});
