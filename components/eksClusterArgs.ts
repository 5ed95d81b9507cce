/**
 * The arguments of an {@link EksCluster} and the check the component runs on them. Apart from the component so
 * that the stack settings can check a stack's cluster without loading the AWS SDKs.
 */
import type * as pulumi from "@pulumi/pulumi";
import { ArgProblem } from "./argProblems";

/** An existing VPC to build the cluster in. */
export interface ExistingVpcArgs {
    id: pulumi.Input<string>;
    publicSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    privateSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
}

/** SSH to the nodes (the tutorial's `--ssh-access --ssh-public-key`). */
export interface SshAccessArgs {
    /** OpenSSH public key line; becomes an EC2 key pair. */
    publicKey: pulumi.Input<string>;
    /** Source CIDRs allowed to reach port 22. Required: there is no open default. */
    allowedCidrs: string[];
}

/**
 * Access to the cluster's Kubernetes API for an IAM principal other than the creator: an EKS access entry with
 * the AWS-managed access policy of its level (access entries need the API authentication mode, which this
 * cluster uses).
 */
export interface ClusterAccessArgs {
    /**
     * ARN of an IAM role or user, e.g. `arn:aws:iam::123456789012:role/platform-admins`; not an sts
     * assumed-role session. Plain, not an Input: it names the access entry, so the entry keeps its name
     * while its level or namespaces change.
     */
    principalArn: string;
    /**
     * `admin`: AmazonEKSClusterAdminPolicy on the whole cluster (cluster-admin), or AmazonEKSAdminPolicy on the
     * listed namespaces (namespace admin); `edit`: AmazonEKSEditPolicy; `view`: AmazonEKSViewPolicy.
     */
    access: "admin" | "edit" | "view";
    /** Limit the access to these namespaces. Unset: the whole cluster. */
    namespaces?: string[];
}

/** The versions of the cluster's managed add-ons, as `aws eks describe-addon-versions` names them. */
export interface ClusterAddonVersions {
    /** The `vpc-cni` add-on (Amazon VPC CNI plugin for Kubernetes), e.g. `v1.20.4-eksbuild.1`. */
    vpcCni: string;
    /** The `coredns` add-on, e.g. `v1.12.4-eksbuild.1`. */
    coreDns: string;
    /** The `kube-proxy` add-on, e.g. `v1.34.1-eksbuild.2`. */
    kubeProxy: string;
}

/** The AMI types the node group may run: both x86_64, so the instance types must be x86_64 too. */
export const AMI_TYPES = ["AL2023_x86_64_STANDARD", "BOTTLEROCKET_x86_64"] as const;
export type AmiType = (typeof AMI_TYPES)[number];

/** EKS's support policies: STANDARD upgrades the control plane at the end of standard support; EXTENDED keeps it, at a cost. */
export const SUPPORT_TYPES = ["STANDARD", "EXTENDED"] as const;
export type SupportType = (typeof SUPPORT_TYPES)[number];

/** How EKS replaces the node group's nodes. */
export interface NodeUpdateArgs {
    /**
     * Nodes EKS takes out of service at once while it replaces them (a version, AMI or launch template update): a
     * count from 1 to 100, or a percentage of the nodes from `1%` to `100%` (EKS's limits). Defaults to 1.
     */
    maxUnavailable?: number | string;
    /** Node auto repair: EKS replaces a node whose health checks fail (a kubelet that stays not ready, for one). Defaults to true. */
    autoRepair?: boolean;
}

export const NODE_MAX_UNAVAILABLE_ACCEPTED = "a node count from 1 to 100 or a percentage from 1% to 100% (EKS's limits for a node group update)";

/** A node group's `updateConfig` for a maxUnavailable argument, or undefined when EKS would refuse it. */
export function nodeUpdateConfig(maxUnavailable: number | string): { maxUnavailable: number } | { maxUnavailablePercentage: number } | undefined {
    if (typeof maxUnavailable === "number") {
        return Number.isInteger(maxUnavailable) && maxUnavailable >= 1 && maxUnavailable <= 100 ? { maxUnavailable } : undefined;
    }
    const m = typeof maxUnavailable === "string" && maxUnavailable.length <= 4 ? /^([1-9][0-9]?|100)%$/.exec(maxUnavailable) : null;
    return m ? { maxUnavailablePercentage: Number(m[1]) } : undefined;
}

/** The arguments of an {@link EksCluster}. */
export interface EksClusterArgs {
    /**
     * Kubernetes minor version of the control plane and of the nodes, e.g. `1.34`. Defaults to EKS's current
     * default (at creation; later `pulumi up`s leave it).
     */
    kubernetesVersion?: pulumi.Input<string>;
    /**
     * The managed add-ons' versions. Unset: eks.Cluster asks AWS for the newest VPC CNI and kube-proxy versions of
     * the cluster's Kubernetes version on every `pulumi up` (and updates them when there is a newer one), and
     * CoreDNS gets EKS's default version when it is created.
     */
    addonVersions?: ClusterAddonVersions;
    /** AMI type of the nodes. Defaults to `AL2023_x86_64_STANDARD`; changing it replaces the node group. */
    amiType?: AmiType;
    /** How EKS replaces the nodes: how many at once, and whether it repairs unhealthy ones. */
    nodeUpdate?: NodeUpdateArgs;
    /**
     * EKS deletion protection, and Pulumi's `protect` on the cluster: neither EKS nor `pulumi destroy` deletes it
     * until this is false again (and applied with `pulumi up`). Defaults to false.
     */
    deletionProtection?: boolean;
    /**
     * What EKS does at the end of the version's standard support: `STANDARD` upgrades the control plane to the next
     * version; `EXTENDED` keeps the version for up to 12 more months at the extended-support price (about six times
     * the standard control-plane price per hour). Defaults to `STANDARD` (EKS's own default, when none is given,
     * is EXTENDED). EXTENDED also tags the cluster `eks-nginx/extended-support: "true"`, the opt-in the policy pack
     * looks for.
     */
    supportType?: SupportType;
    /** Build in this VPC; when absent a new VPC with public and private subnets is made. */
    vpc?: ExistingVpcArgs;
    /** Availability zones of a new VPC. Defaults to 2. */
    availabilityZones?: number;
    /** NAT gateways of a new VPC: `Single` (cheaper) or `OnePerAz` (no single point of failure). */
    natGateways?: "Single" | "OnePerAz";
    /** Instance types of the managed node group, e.g. `["t3.medium"]`. */
    instanceTypes: pulumi.Input<pulumi.Input<string>[]>;
    /** Node count wanted now; an autoscaler may change it later without a diff. */
    desiredSize: number;
    minSize: number;
    maxSize: number;
    /** SSH access to the nodes; without it, nodes are reached through SSM Session Manager. */
    ssh?: SshAccessArgs;
    /** Control-plane log types sent to CloudWatch, e.g. `["api", "audit"]`. */
    logTypes?: pulumi.Input<pulumi.Input<string>[]>;
    /** Tags for every AWS resource made here. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Envelope-encrypt Kubernetes secrets with KMS. Defaults to true. */
    secretsEncryption?: boolean;
    /** KMS key for secrets encryption; unset: a new key with yearly rotation is made. */
    kmsKeyArn?: pulumi.Input<string>;
    /** Public API endpoint. Defaults to true. */
    endpointPublicAccess?: boolean;
    /** Private API endpoint, for nodes and the VPC. Defaults to true. */
    endpointPrivateAccess?: boolean;
    /** Who may reach the public endpoint. Defaults to EKS's 0.0.0.0/0 (callers still need IAM credentials). */
    publicAccessCidrs?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * Principals given access besides the creator. The principal that creates the cluster keeps the cluster
     * admin access entry EKS bootstraps for it (eks.Cluster sets bootstrapClusterCreatorAdminPermissions);
     * do not list it here, EKS refuses a second entry for one principal.
     */
    access?: ClusterAccessArgs[];
}

/** The parts of an IAM role or user ARN, as an access entry's name is made of them. */
export interface PrincipalArn {
    partition: string;
    account: string;
    kind: "role" | "user";
    /** Path and name, e.g. `teams/web/deployers`. */
    pathAndName: string;
}

// A role or user in any partition, with an optional path of IAM's characters; no wildcards, no groups, no sts
// assumed-role sessions (a session is not a lasting identity). Each path segment ends at a '/', which its
// characters exclude, so matching takes linear time.
const IAM_PRINCIPAL = /^arn:(aws(?:-[a-z]+)*):iam::([0-9]{12}):(role|user)\/((?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64})$/;
/** IAM's limit on an ARN's length (2048); longer input is refused before the expression runs. */
const MAX_ARN_LENGTH = 2048;
export const PRINCIPAL_ARN_ACCEPTED = "an IAM role or user ARN such as arn:aws:iam::123456789012:role/platform-admins or " +
    "arn:aws:iam::123456789012:user/alice (a path such as role/teams/web/deployers is allowed; no wildcards, no sts assumed-role sessions)";

/** The parts of an IAM role or user ARN, or undefined when `arn` is not one. */
export function parsePrincipalArn(arn: string): PrincipalArn | undefined {
    const m = arn.length <= MAX_ARN_LENGTH ? IAM_PRINCIPAL.exec(arn) : null;
    return m ? { partition: m[1], account: m[2], kind: m[3] as "role" | "user", pathAndName: m[4] } : undefined;
}

/**
 * What an EksCluster cannot be built from: node group sizes out of order, no API endpoint, settings that the
 * others turn off, access entries EKS would refuse (not a role or user, a principal twice, an empty or repeated
 * namespace list), a node update EKS would refuse, SSH on nodes that run no SSH server.
 */
export function checkEksClusterArgs(args: EksClusterArgs): ArgProblem[] {
    const problems: ArgProblem[] = [];
    if (!(args.minSize <= args.desiredSize && args.desiredSize <= args.maxSize)) {
        problems.push({ arg: "", value: { minSize: args.minSize, desiredSize: args.desiredSize, maxSize: args.maxSize },
            expected: "minSize ≤ desiredSize ≤ maxSize" });
    }
    if (args.endpointPublicAccess === false && args.endpointPrivateAccess === false) {
        problems.push({ arg: "", value: { endpointPublicAccess: false, endpointPrivateAccess: false },
            expected: "endpointPublicAccess or endpointPrivateAccess true (the API must be reachable)" });
    }
    if (args.endpointPublicAccess === false && args.publicAccessCidrs !== undefined) {
        problems.push({ arg: "publicAccessCidrs", value: args.publicAccessCidrs, expected: "unset when endpointPublicAccess is false" });
    }
    if (args.kmsKeyArn !== undefined && args.secretsEncryption === false) {
        problems.push({ arg: "kmsKeyArn", value: args.kmsKeyArn, expected: "unset when secretsEncryption is false" });
    }
    const maxUnavailable = args.nodeUpdate?.maxUnavailable;
    if (maxUnavailable !== undefined && nodeUpdateConfig(maxUnavailable) === undefined) {
        problems.push({ arg: "nodeUpdate.maxUnavailable", value: maxUnavailable, expected: NODE_MAX_UNAVAILABLE_ACCEPTED });
    }
    if (args.ssh !== undefined && args.amiType === "BOTTLEROCKET_x86_64") {
        // Bottlerocket's SSH server lives in its admin container, which is off unless the node's settings turn it on;
        // this program's launch template sets none. Its control container takes SSM Session Manager sessions.
        problems.push({ arg: "ssh", value: args.ssh,
            expected: "unset when amiType is BOTTLEROCKET_x86_64 (Bottlerocket nodes run no SSH server unless their admin container is turned on, " +
                "which this program does not do; reach them with SSM Session Manager)" });
    }
    const principals = new Map<string, number>();
    (args.access ?? []).forEach((a, i) => {
        if (!parsePrincipalArn(a.principalArn)) {
            problems.push({ arg: `access.${i}.principalArn`, value: a.principalArn, expected: PRINCIPAL_ARN_ACCEPTED });
        }
        // IAM names are unique regardless of case, so Role/Admins and role/admins are one principal.
        const id = a.principalArn.toLowerCase();
        const first = principals.get(id);
        if (first !== undefined) {
            problems.push({ arg: `access.${i}.principalArn`, value: a.principalArn,
                expected: `a principal listed once (it is already access.${first}; EKS allows one access entry per principal)` });
        }
        principals.set(id, first ?? i);
        if (a.namespaces !== undefined && a.namespaces.length === 0) {
            problems.push({ arg: `access.${i}.namespaces`, value: a.namespaces,
                expected: "at least one namespace (leave namespaces unset for the whole cluster)" });
        }
        if (a.namespaces !== undefined && new Set(a.namespaces).size !== a.namespaces.length) {
            problems.push({ arg: `access.${i}.namespaces`, value: a.namespaces, expected: "each namespace listed once" });
        }
    });
    return problems;
}
