/**
 * The EKS target's cluster settings (`pulumi config set --path cluster.desiredSize 4`) and how they become the
 * EksCluster component's arguments. The settings have the arguments' names, so a problem the component's check
 * (components/eksClusterArgs.ts: checkEksClusterArgs) finds is reported as `cluster.<argument>`.
 */
import { z } from "zod";
import { AMI_TYPES, EksClusterArgs, NODE_MAX_UNAVAILABLE_ACCEPTED, PRINCIPAL_ARN_ACCEPTED, SUPPORT_TYPES } from "../components/eksClusterArgs";
import { addonVersionsFor, DEFAULT_KUBERNETES_VERSION, KUBERNETES_VERSIONS } from "./addonVersions";
import { cidr, dnsLabel, flag, integer, isNetworkCidr, list, oneOf, settings, text } from "./keys";
import { INSTANCE_ENI_LIMITS } from "./podCapacity";
import type { ConfigProblem } from "./problems";

export const NAT_GATEWAY_STRATEGIES = ["Single", "OnePerAz"] as const;
export const LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"] as const;
/** Access levels of cluster.access, after Kubernetes' user-facing roles (cluster-admin/admin, edit, view). */
export const ACCESS_LEVELS = ["admin", "edit", "view"] as const;

const instanceTypeAccepted = `one of ${Object.keys(INSTANCE_ENI_LIMITS).join(", ")} (for another type, also set cluster.maxPodsPerNode)`;
const id = (format: string, prefix: string, accepted: string) =>
    text(format, accepted, 32, (v) => new RegExp(`^${prefix}-[0-9a-f]{8,17}$`).test(v));
const subnetIds = list(id("subnet-id", "subnet", "subnet ids such as subnet-0123456789abcdef0"), "a list of subnet ids").default([]);
const SSH_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}( [^\n]*)?$/;

export const clusterKeys = {
    cluster: settings({
        instanceTypes: list(text("instance-type", "an EC2 instance type name such as t3.medium", 32, (v) => /^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(v)),
            "a list of EC2 instance types, such as [\"t3.medium\"]", { count: 1, accepted: "a list of at least one EC2 instance type" })
            .default(["t2.micro"])
            .describe("Instance types of the managed node group: those in stacks/podCapacity.ts, or any with maxPodsPerNode."),
        desiredSize: integer(0, 450).default(3).describe("Nodes wanted now; left to an autoscaler after creation."),
        minSize: integer(0, 450).default(1).describe("Fewest nodes; minSize ≤ desiredSize ≤ maxSize."),
        maxSize: integer(1, 450).default(4).describe("Most nodes."),
        kubernetesVersion: oneOf(KUBERNETES_VERSIONS, `one of ${KUBERNETES_VERSIONS.join(", ")} (the Kubernetes minor versions stacks/addonVersions.ts ` +
            "pins add-on versions for; for another, add its row there)").default(DEFAULT_KUBERNETES_VERSION)
            .describe("Kubernetes minor version of the control plane and the nodes; it chooses the pinned VPC CNI, CoreDNS and kube-proxy " +
                "add-on versions (stacks/addonVersions.ts). Raise it one minor version at a time: EKS upgrades the control plane in place, " +
                "then the nodes roll (nodeUpdate). A cluster made before this key had a default runs the version it was made with: set that one first."),
        amiType: oneOf(AMI_TYPES, `one of ${AMI_TYPES.join(", ")} (Amazon Linux 2023 or Bottlerocket, x86_64 instance types)`)
            .default("AL2023_x86_64_STANDARD")
            .describe("Node OS and AMI family, pinned so that a change of EKS's default never replaces the nodes. Changing it replaces the node group " +
                "(a new one first, then the old one drained)."),
        nodeUpdate: settings({
            maxUnavailable: z.union([z.number(), z.string()], { error: NODE_MAX_UNAVAILABLE_ACCEPTED })
                .meta({ accepted: NODE_MAX_UNAVAILABLE_ACCEPTED, format: "node-max-unavailable" }).default(1)
                .describe("Nodes EKS drains and replaces at once when it updates the node group (Kubernetes version, AMI, launch template): " +
                    "a count, or a percentage such as 25%. It first adds new nodes, then drains old ones, respecting the app's PodDisruptionBudget."),
            autoRepair: flag("node auto repair").default(true)
                .describe("Node auto repair: EKS replaces a node whose health checks fail (a kubelet that stays not ready, for one). " +
                    "Off in dev, where a node failure is for watching (unreachableNodeSeconds)."),
        }, "an object {maxUnavailable, autoRepair}").prefault({})
            .describe("How EKS replaces the managed node group's nodes (the node group's updateConfig and nodeRepairConfig)."),
        deletionProtection: flag("EKS deletion protection and Pulumi's protect on the cluster").default(false)
            .describe("EKS deletion protection, and Pulumi's protect on the cluster: pulumi destroy refuses until it is set false and applied " +
                "with pulumi up (docs/eks.md). On in prod."),
        supportType: oneOf(SUPPORT_TYPES, `one of ${SUPPORT_TYPES.join(", ")} (EXTENDED: about six times the standard control-plane price per hour)`)
            .default("STANDARD")
            .describe("At the end of the version's standard support (14 months after EKS released it), STANDARD upgrades the control plane to " +
                "the next version; EXTENDED keeps it up to 12 more months at the extended-support price, about six times the standard hourly " +
                "control-plane price (USD 0.60 instead of 0.10 per hour). EXTENDED tags the cluster eks-nginx/extended-support, the opt-in " +
                "the policy pack requires."),
        vpc: settings({
            id: id("vpc-id", "vpc", "a VPC id such as vpc-0123456789abcdef0").describe("The VPC's id."),
            publicSubnetIds: subnetIds.describe("Its public subnets (load balancers)."),
            privateSubnetIds: subnetIds.describe("Its private subnets (nodes, when there are any)."),
        }, "an object {id, publicSubnetIds, privateSubnetIds}")
            .refine((v) => v.publicSubnetIds.length + v.privateSubnetIds.length >= 2, {
                error: "at least two subnet ids in publicSubnetIds and privateSubnetIds together (EKS needs two availability zones)",
            }).optional()
            .describe("An existing VPC to build in. Unset: a new VPC with public and private subnets."),
        availabilityZones: integer(2, 6).default(2).describe("Availability zones of a new VPC."),
        natGateways: oneOf(NAT_GATEWAY_STRATEGIES).default("Single").describe("NAT gateways of a new VPC: Single (cheaper) or OnePerAz (no single point of failure)."),
        ssh: settings({
            publicKey: text("ssh-public-key", "an OpenSSH public key line (ssh-ed25519, ssh-rsa or ecdsa-sha2-nistp256/384/521, then base64)",
                16384, (v) => SSH_KEY.test(v)).describe("OpenSSH public key line; becomes an EC2 key pair."),
            allowedCidrs: list(cidr("a network CIDR such as 203.0.113.0/24 (no host bits set); 0.0.0.0/0 and ::/0 are refused: SSH must not be open to the internet"),
                "a list of CIDRs", { count: 1, accepted: "at least one CIDR allowed to reach port 22" })
                .describe("Source CIDRs allowed to reach port 22."),
        }, "an object {publicKey, allowedCidrs}").optional()
            .describe("SSH to the nodes from those CIDRs only. Unset: no SSH; reach nodes with SSM Session Manager."),
        logTypes: list(oneOf(LOG_TYPES, `each one of ${LOG_TYPES.join(", ")}`), `a list of ${LOG_TYPES.join(", ")}`)
            .default(["api", "audit", "authenticator"]).describe("Control-plane log types sent to CloudWatch."),
        tags: z.record(z.string(), z.string({ error: "string values" }), { error: "an object of string tags" })
            .meta({ accepted: "an object of string tags" }).default({}).describe("Tags for every AWS resource."),
        maxPodsPerNode: integer(3, 737).optional().describe("Pods per node, for instance types not in stacks/podCapacity.ts."),
        secretsEncryption: flag("envelope-encrypt Kubernetes secrets with KMS").default(true)
            .describe("Envelope-encrypt Kubernetes secrets with KMS."),
        kmsKeyArn: text("kms-key-arn", "a KMS key ARN such as arn:aws:kms:ap-northeast-1:123456789012:key/<key id>", 2048,
            (v) => /^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/[A-Za-z0-9-]+$/.test(v)).optional()
            .describe("KMS key for secrets encryption. Unset: a new key with yearly rotation."),
        endpointPublicAccess: flag("public API endpoint").default(true).describe("Public API endpoint."),
        endpointPrivateAccess: flag("private API endpoint").default(true).describe("Private API endpoint, for the nodes and the VPC."),
        publicAccessCidrs: list(text("ipv4-cidr", "an IPv4 network CIDR such as 203.0.113.0/24 (no host bits set)", 18,
            (v) => !v.includes(":") && isNetworkCidr(v)), "a list of IPv4 CIDRs", { count: 1, accepted: "at least one CIDR" }).optional()
            .describe("IPv4 CIDRs allowed to reach the public API endpoint. Unset: EKS's 0.0.0.0/0 (callers still need IAM credentials)."),
        access: list(settings({
            principalArn: z.string({ error: PRINCIPAL_ARN_ACCEPTED }).meta({ accepted: PRINCIPAL_ARN_ACCEPTED, format: "iam-principal-arn" })
                .describe("An IAM role or user; the creator keeps the admin access EKS bootstraps for it: do not list it."),
            access: oneOf(ACCESS_LEVELS, `one of ${ACCESS_LEVELS.join(", ")} (admin: the whole cluster, or admin of the listed namespaces; edit; view)`)
                .describe("admin (AmazonEKSClusterAdminPolicy cluster-wide, or AmazonEKSAdminPolicy in the namespaces), edit (AmazonEKSEditPolicy) or view (AmazonEKSViewPolicy)."),
            namespaces: list(dnsLabel(),
                "a list of namespaces, such as [\"web\"]").optional().describe("Limit the access to these namespaces. Unset: the whole cluster."),
        }, "an object {principalArn, access, namespaces}"), "a list of {principalArn, access, namespaces} entries").default([])
            .describe("Who besides the creator may use the cluster: each item an EKS access entry with an AWS-managed access policy."),
    }, "an object of cluster settings (see Pulumi.yaml)").prefault({})
        .describe("The EKS cluster and its managed node group, for target eks only (pulumi config set --path cluster.desiredSize 4). The app's replicas + maxSurge must fit desiredSize × pods per node − 2 system pods per node − 2 CoreDNS pods."),
};

export type ClusterSettings = z.output<(typeof clusterKeys)["cluster"]>;

/** Instance types outside the pod-capacity table need maxPodsPerNode: the capacity check cannot work otherwise. */
export function clusterRules(c: ClusterSettings): ConfigProblem[] {
    if (c.maxPodsPerNode !== undefined) {
        return [];
    }
    return c.instanceTypes.flatMap((type, i) =>
        type in INSTANCE_ENI_LIMITS ? [] : [{ key: `cluster.instanceTypes.${i}`, value: type, expected: instanceTypeAccepted }]);
}

/** The EksCluster's arguments for a stack's cluster settings (the same names), with the add-on versions of its Kubernetes version. */
export function eksClusterArgs(c: ClusterSettings): EksClusterArgs {
    const { maxPodsPerNode: _capacityOnly, ...args } = c;
    void _capacityOnly;
    return { ...args, addonVersions: addonVersionsFor(c.kubernetesVersion) };
}

/** The config key an EksCluster argument comes from. */
export function clusterKeyOf(arg: string): string {
    return arg === "" ? "cluster" : `cluster.${arg}`;
}
