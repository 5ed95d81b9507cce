/**
 * How many pods a managed node group can hold under the AWS VPC CNI, and whether the app fits.
 *
 * Without prefix delegation every pod gets a secondary IPv4 address of one of the node's ENIs, so a
 * node runs at most ENIs × (IPv4 addresses per ENI − 1) + 2 pods (the +2 are the host-network pods
 * aws-node and kube-proxy, which count against the kubelet's limit). Figures from AWS's
 * eni-max-pods table for the instance types this project accepts.
 */

export interface EniLimits {
    /** Maximum network interfaces. */
    enis: number;
    /** IPv4 addresses per network interface. */
    ipv4PerEni: number;
}

export const INSTANCE_ENI_LIMITS: Readonly<Record<string, EniLimits>> = {
    "t2.micro": { enis: 2, ipv4PerEni: 2 },
    "t2.small": { enis: 3, ipv4PerEni: 4 },
    "t2.medium": { enis: 3, ipv4PerEni: 6 },
    "t2.large": { enis: 3, ipv4PerEni: 12 },
    "t2.xlarge": { enis: 3, ipv4PerEni: 15 },
    "t3.micro": { enis: 2, ipv4PerEni: 2 },
    "t3.small": { enis: 3, ipv4PerEni: 4 },
    "t3.medium": { enis: 3, ipv4PerEni: 6 },
    "t3.large": { enis: 3, ipv4PerEni: 12 },
    "t3.xlarge": { enis: 4, ipv4PerEni: 15 },
    "t3.2xlarge": { enis: 4, ipv4PerEni: 15 },
    "m5.large": { enis: 3, ipv4PerEni: 10 },
    "m5.xlarge": { enis: 4, ipv4PerEni: 15 },
    "m5.2xlarge": { enis: 4, ipv4PerEni: 15 },
    "m5.4xlarge": { enis: 8, ipv4PerEni: 30 },
    "m6i.large": { enis: 3, ipv4PerEni: 10 },
    "m6i.xlarge": { enis: 4, ipv4PerEni: 15 },
    "m6i.2xlarge": { enis: 4, ipv4PerEni: 15 },
    "c5.large": { enis: 3, ipv4PerEni: 10 },
    "c5.xlarge": { enis: 4, ipv4PerEni: 15 },
    "r5.large": { enis: 3, ipv4PerEni: 10 },
    "r5.xlarge": { enis: 4, ipv4PerEni: 15 },
};

/** Host-network system pods on every node: aws-node (VPC CNI) and kube-proxy. */
export const SYSTEM_PODS_PER_NODE = 2;
/** System pods the cluster runs once: CoreDNS's two replicas. */
export const SYSTEM_PODS_PER_CLUSTER = 2;

export function maxPodsFor(limits: EniLimits): number {
    return limits.enis * (limits.ipv4PerEni - 1) + 2;
}

/** Resolves a Deployment's maxSurge ("25%" or 1) to pods, rounding up as Kubernetes does. */
export function surgePods(replicas: number, maxSurge: string | number): number {
    if (typeof maxSurge === "number") {
        return maxSurge;
    }
    const percent = Number(maxSurge.slice(0, -1));
    return Math.ceil((replicas * percent) / 100);
}

export interface CapacityInput {
    replicas: number;
    maxSurge: string | number;
    desiredSize: number;
    instanceTypes: string[];
    /** Overrides the table, for instance types it does not list. */
    maxPodsPerNode?: number;
}

/**
 * Returns undefined when the app fits, otherwise a message that shows the arithmetic.
 * With several instance types the smallest one is assumed: any node may be of that type.
 */
export function checkCapacity(input: CapacityInput): string | undefined {
    const perType = input.instanceTypes.map((type) => ({
        type,
        maxPods: input.maxPodsPerNode ?? maxPodsFor(INSTANCE_ENI_LIMITS[type]),
    }));
    const smallest = perType.reduce((a, b) => (b.maxPods < a.maxPods ? b : a));
    const nodes = input.desiredSize;
    const total = nodes * smallest.maxPods;
    const available = total - nodes * SYSTEM_PODS_PER_NODE - SYSTEM_PODS_PER_CLUSTER;
    const surge = surgePods(input.replicas, input.maxSurge);
    const needed = input.replicas + surge;
    if (needed <= available) {
        return undefined;
    }
    const source = input.maxPodsPerNode !== undefined ? "cluster.maxPodsPerNode" : `${smallest.type} under the VPC CNI`;
    return (
        `capacity: the app needs ${needed} pods during a rollout (replicas ${input.replicas} + maxSurge ${surge}), ` +
        `but the node group leaves ${Math.max(available, 0)}: ${nodes} nodes × ${smallest.maxPods} pods (${source}) = ${total}, ` +
        `minus ${nodes} × ${SYSTEM_PODS_PER_NODE} per-node system pods (aws-node, kube-proxy) and ` +
        `${SYSTEM_PODS_PER_CLUSTER} CoreDNS pods. Lower replicas or maxSurge, or raise cluster.desiredSize ` +
        `or choose a larger cluster.instanceTypes.`
    );
}
