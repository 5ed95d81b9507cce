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
        this.clusterName = this.cluster.eksCluster.apply((c) => c.name);
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
