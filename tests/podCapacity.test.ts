import * as assert from "assert";
import { checkCapacity, INSTANCE_ENI_LIMITS, maxPodsFor, surgePods } from "../stacks/podCapacity";

describe("pod capacity under the AWS VPC CNI", () => {
    it("computes ENIs × (IPv4 per ENI − 1) + 2 per instance type", () => {
        const expected: Record<string, number> = { "t2.micro": 4, "t3.small": 11, "t3.medium": 17, "m5.large": 29, "m5.4xlarge": 234 };
        for (const [type, pods] of Object.entries(expected)) {
            assert.strictEqual(maxPodsFor(INSTANCE_ENI_LIMITS[type]), pods, type);
        }
    });

    it("rounds a percentage surge up, as Kubernetes does", () => {
        assert.strictEqual(surgePods(1, "25%"), 1);
        assert.strictEqual(surgePods(3, "25%"), 1);
        assert.strictEqual(surgePods(5, "25%"), 2);
        assert.strictEqual(surgePods(4, "0%"), 0);
        assert.strictEqual(surgePods(4, 3), 3);
    });

    it("accepts the tutorial's 3 replicas on 3 × t2.micro (3 + 1 surge = 4 of 4 free slots)", () => {
        assert.strictEqual(checkCapacity({ replicas: 3, maxSurge: "25%", desiredSize: 3, instanceTypes: ["t2.micro"] }), undefined);
    });

    it("rejects 4 replicas on 3 × t2.micro and shows the arithmetic", () => {
        const message = checkCapacity({ replicas: 4, maxSurge: "25%", desiredSize: 3, instanceTypes: ["t2.micro"] });
        assert.ok(message, "4 + 1 pods must not fit in 4 slots");
        assert.match(message, /needs 5 pods during a rollout \(replicas 4 \+ maxSurge 1\)/);
        assert.match(message, /leaves 4: 3 nodes × 4 pods \(t2\.micro under the VPC CNI\) = 12/);
        assert.match(message, /minus 3 × 2 per-node system pods \(aws-node, kube-proxy\) and 2 CoreDNS pods/);
    });

    it("rejects any app on a single t2.micro (4 − 2 − 2 = 0 slots)", () => {
        const message = checkCapacity({ replicas: 1, maxSurge: 0, desiredSize: 1, instanceTypes: ["t2.micro"] });
        assert.match(message ?? "", /leaves 0: 1 nodes × 4 pods/);
    });

    it("sizes a mixed node group by its smallest type", () => {
        assert.match(checkCapacity({ replicas: 10, maxSurge: "25%", desiredSize: 2, instanceTypes: ["m5.large", "t2.micro"] }) ?? "", /t2\.micro/);
        assert.strictEqual(checkCapacity({ replicas: 10, maxSurge: "25%", desiredSize: 2, instanceTypes: ["m5.large", "t3.medium"] }), undefined);
    });

    it("uses maxPodsPerNode instead of the table when given", () => {
        // 2 × 14 − 2 × 2 − 2 = 22 slots.
        assert.strictEqual(checkCapacity({ replicas: 22, maxSurge: 0, desiredSize: 2, instanceTypes: ["x9.huge"], maxPodsPerNode: 14 }), undefined);
        assert.match(checkCapacity({ replicas: 23, maxSurge: 0, desiredSize: 2, instanceTypes: ["x9.huge"], maxPodsPerNode: 14 }) ?? "",
            /2 nodes × 14 pods \(cluster\.maxPodsPerNode\) = 28/);
    });
});
