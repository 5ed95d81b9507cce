import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as eks from "@pulumi/eks";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { refuseArgs } from "./argProblems";
import { checkEksClusterArgs, ClusterAccessArgs, EksClusterArgs, parsePrincipalArn } from "./eksClusterArgs";

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
        refuseArgs("EksCluster", name, checkEksClusterArgs(args));
        const encrypt = args.secretsEncryption ?? true;

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
            const { partition, account, kind, pathAndName } = parsePrincipalArn(a.principalArn)!;
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
            // The cluster's ARN: the provider, and every app object through it, is replaced only with the cluster,
            // not when its kubeconfig changes (a new token command, another endpoint form).
            clusterIdentifier: this.cluster.eksCluster.arn,
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
