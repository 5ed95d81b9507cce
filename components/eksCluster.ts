import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as eks from "@pulumi/eks";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

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

/** The arguments of an {@link EksCluster}. */
export interface EksClusterArgs {
    /** Kubernetes minor version, e.g. `1.33`. Defaults to EKS's current default. */
    kubernetesVersion?: pulumi.Input<string>;
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

/** partition, account, role|user, path and name of an IAM role or user ARN; no wildcards. */
const IAM_PRINCIPAL = /^arn:(aws[a-z-]*):iam::([0-9]{12}):(role|user)\/([^*\s]+)$/;

/** The AWS-managed access policy and scope of an access level (names as `aws eks list-access-policies` gives them). */
function accessPolicy(a: ClusterAccessArgs): { policy: string; scope: { type: string; namespaces?: string[] } } {
    const scope = a.namespaces ? { type: "namespace", namespaces: a.namespaces } : { type: "cluster" };
    switch (a.access) {
        case "admin":
            // Cluster-admin only cluster-wide; in namespaces, the namespace admin policy (like Kubernetes' admin role).
            return { policy: a.namespaces ? "AmazonEKSAdminPolicy" : "AmazonEKSClusterAdminPolicy", scope };
        case "edit":
            return { policy: "AmazonEKSEditPolicy", scope };
        case "view":
            return { policy: "AmazonEKSViewPolicy", scope };
    }
}

const NODE_POLICIES = {
    worker: aws.iam.ManagedPolicy.AmazonEKSWorkerNodePolicy,
    cni: aws.iam.ManagedPolicy.AmazonEKS_CNI_Policy,
    ecr: aws.iam.ManagedPolicy.AmazonEC2ContainerRegistryReadOnly,
    // Lets operators reach nodes through SSM Session Manager instead of SSH.
    ssm: aws.iam.ManagedPolicy.AmazonSSMManagedInstanceCore,
};

/**
 * An EKS cluster in API (access entry) authentication mode with one managed node group, and a
 * Kubernetes provider bound to it. The default node group of `eks.Cluster` is skipped.
 */
export class EksCluster extends pulumi.ComponentResource {
    public readonly cluster: eks.Cluster;
    public readonly nodeGroup: eks.ManagedNodeGroup;
    /** The key that encrypts Kubernetes secrets, when this component made it. */
    public readonly secretsKey?: aws.kms.Key;
    /** Kubernetes provider for this cluster; pass it to every Kubernetes resource. */
    public readonly provider: k8s.Provider;
    /** Admin kubeconfig, as a secret. */
    public readonly kubeconfig: pulumi.Output<string>;
    public readonly clusterName: pulumi.Output<string>;

    constructor(name: string, args: EksClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("eks-nginx:cluster:EksCluster", name, {}, opts);
        if (!(args.minSize <= args.desiredSize && args.desiredSize <= args.maxSize)) {
            throw new Error(`EksCluster ${name}: need minSize ≤ desiredSize ≤ maxSize, got ${args.minSize}/${args.desiredSize}/${args.maxSize}`);
        }
        if (args.ssh && args.ssh.allowedCidrs.length === 0) {
            throw new Error(`EksCluster ${name}: ssh.allowedCidrs must list at least one CIDR`);
        }
        if (args.endpointPublicAccess === false && args.endpointPrivateAccess === false) {
            throw new Error(`EksCluster ${name}: endpointPublicAccess or endpointPrivateAccess must be true`);
        }
        const encrypt = args.secretsEncryption ?? true;
        if (args.kmsKeyArn !== undefined && !encrypt) {
            throw new Error(`EksCluster ${name}: kmsKeyArn is given but secretsEncryption is false`);
        }
        const principals = new Set<string>();
        for (const a of args.access ?? []) {
            if (!IAM_PRINCIPAL.test(a.principalArn)) {
                throw new Error(`EksCluster ${name}: access principalArn ${a.principalArn} is not an IAM role or user ARN`);
            }
            if (principals.has(a.principalArn.toLowerCase())) {
                throw new Error(`EksCluster ${name}: access lists ${a.principalArn} twice; EKS allows one access entry per principal`);
            }
            principals.add(a.principalArn.toLowerCase());
            if (a.namespaces?.length === 0) {
                throw new Error(`EksCluster ${name}: access for ${a.principalArn} has an empty namespaces list; leave it unset for the whole cluster`);
            }
        }

        const network = args.vpc
            ? {
                vpcId: pulumi.output(args.vpc.id),
                publicSubnetIds: pulumi.output(args.vpc.publicSubnetIds),
                privateSubnetIds: pulumi.output(args.vpc.privateSubnetIds),
            }
            : this.newVpc(name, args);

        if (encrypt && args.kmsKeyArn === undefined) {
            this.secretsKey = new aws.kms.Key(`${name}-secrets`, {
                description: `Envelope encryption of Kubernetes secrets in EKS cluster ${name}`,
                enableKeyRotation: true,
                deletionWindowInDays: 30,
                tags: args.tags,
            }, { parent: this });
        }

        this.cluster = new eks.Cluster(`${name}-eks`, {
            version: args.kubernetesVersion,
            vpcId: network.vpcId,
            publicSubnetIds: network.publicSubnetIds,
            privateSubnetIds: network.privateSubnetIds,
            skipDefaultNodeGroup: true,
            authenticationMode: eks.AuthenticationMode.Api,
            enabledClusterLogTypes: args.logTypes ?? [],
            encryptionConfigKeyArn: encrypt ? args.kmsKeyArn ?? this.secretsKey?.arn : undefined,
            endpointPublicAccess: args.endpointPublicAccess ?? true,
            endpointPrivateAccess: args.endpointPrivateAccess ?? true,
            publicAccessCidrs: args.endpointPublicAccess === false ? undefined : args.publicAccessCidrs,
            tags: args.tags,
        }, { parent: this });
        this.clusterName = this.cluster.eksCluster.apply((c) => c.name);

        for (const a of args.access ?? []) {
            const [, partition, account, kind, pathAndName] = IAM_PRINCIPAL.exec(a.principalArn)!;
            // Named after the principal, so a change of level or namespaces never renames (re-creates) the entry.
            const entryName = `${name}-access-${account}/${kind}/${pathAndName}`;
            const entry = new aws.eks.AccessEntry(entryName, {
                clusterName: this.clusterName,
                principalArn: a.principalArn,
                type: "STANDARD",
                tags: args.tags,
            }, { parent: this });
            const { policy, scope } = accessPolicy(a);
            new aws.eks.AccessPolicyAssociation(`${entryName}-${policy}`, {
                clusterName: this.clusterName,
                principalArn: entry.principalArn,
                policyArn: `arn:${partition}:eks::aws:cluster-access-policy/${policy}`,
                accessScope: scope,
            }, {
                parent: this,
                // A new scope replaces the association, and EKS keeps one association per principal and policy:
                // the old one must go before the new one is made.
                deleteBeforeReplace: true,
            });
        }

        const nodeRole = new aws.iam.Role(`${name}-node-role`, {
            assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: "ec2.amazonaws.com" }),
            tags: args.tags,
        }, { parent: this });
        const attachments = Object.entries(NODE_POLICIES).map(([key, policyArn]) =>
            new aws.iam.RolePolicyAttachment(`${name}-node-${key}`, { role: nodeRole.name, policyArn }, { parent: this }));

        const sshSecurityGroup = args.ssh && new aws.ec2.SecurityGroup(`${name}-ssh`, {
            vpcId: network.vpcId,
            description: "SSH to EKS nodes from allowed CIDRs only",
            ingress: [{
                protocol: "tcp",
                fromPort: 22,
                toPort: 22,
                cidrBlocks: args.ssh.allowedCidrs.filter((c) => !c.includes(":")),
                ipv6CidrBlocks: args.ssh.allowedCidrs.filter((c) => c.includes(":")),
            }],
            tags: args.tags,
        }, { parent: this });
        const keyPair = args.ssh && new aws.ec2.KeyPair(`${name}-ssh`, {
            publicKey: args.ssh.publicKey,
            tags: args.tags,
        }, { parent: this });

        // Our own launch template: IMDSv2 is required, and it carries the SSH key when there is one
        // (EKS refuses remoteAccess together with a launch template). Listing security groups replaces
        // EKS's default, so the EKS-managed cluster security group is listed too.
        const launchTemplate = new aws.ec2.LaunchTemplate(`${name}-nodes`, {
            metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 2 },
            keyName: keyPair?.keyName,
            vpcSecurityGroupIds: sshSecurityGroup
                ? [this.cluster.eksCluster.apply((c) => c.vpcConfig.clusterSecurityGroupId), sshSecurityGroup.id]
                : undefined,
            tagSpecifications: args.tags ? [{ resourceType: "instance", tags: args.tags }] : undefined,
            tags: args.tags,
        }, { parent: this });

        this.nodeGroup = new eks.ManagedNodeGroup(`${name}-nodes`, {
            cluster: this.cluster,
            nodeRole,
            instanceTypes: args.instanceTypes,
            scalingConfig: { desiredSize: args.desiredSize, minSize: args.minSize, maxSize: args.maxSize },
            // An autoscaler owns desiredSize after creation; `pulumi up` must not scale it back.
            ignoreScalingChanges: true,
            // Nodes in private subnets when the VPC has them.
            subnetIds: pulumi.all([network.privateSubnetIds, network.publicSubnetIds])
                .apply(([priv, pub]) => (priv.length > 0 ? priv : pub)),
            launchTemplate: { id: launchTemplate.id, version: pulumi.interpolate`${launchTemplate.latestVersion}` },
            tags: args.tags,
        }, { parent: this, dependsOn: attachments });

        this.kubeconfig = pulumi.secret(this.cluster.kubeconfigJson);
        this.provider = new k8s.Provider(`${name}-k8s`, {
            kubeconfig: this.kubeconfig,
            enableServerSideApply: true,
        }, { parent: this });

        this.registerOutputs({ kubeconfig: this.kubeconfig, clusterName: this.clusterName });
    }

    private newVpc(name: string, args: EksClusterArgs) {
        const vpc = new awsx.ec2.Vpc(`${name}-vpc`, {
            numberOfAvailabilityZones: args.availabilityZones ?? 2,
            natGateways: { strategy: args.natGateways ?? "Single" },
            enableDnsHostnames: true,
            // The tags Kubernetes' AWS cloud provider looks for when it places load balancers.
            subnetSpecs: [
                { type: "Public", tags: { "kubernetes.io/role/elb": "1" } },
                { type: "Private", tags: { "kubernetes.io/role/internal-elb": "1" } },
            ],
            tags: args.tags,
        }, { parent: this });
        return { vpcId: vpc.vpcId, publicSubnetIds: vpc.publicSubnetIds, privateSubnetIds: vpc.privateSubnetIds };
    }
}
