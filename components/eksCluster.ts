import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as eks from "@pulumi/eks";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { EXTENDED_SUPPORT_TAG } from "../policy/annotations";
import { refuseArgs } from "./argProblems";
import { checkEksClusterArgs, ClusterAccessArgs, EksClusterArgs, nodeUpdateConfig, parsePrincipalArn } from "./eksClusterArgs";

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
 * An EKS cluster in API (access entry) authentication mode with one managed node group, its managed add-ons at
 * pinned versions, and a Kubernetes provider bound to it. The default node group of `eks.Cluster` is skipped.
 *
 * The node group is an `aws.eks.NodeGroup` made here, not an `eks.ManagedNodeGroup`: @pulumi/eks 4.3's component
 * passes neither `updateConfig` (how many nodes EKS replaces at once) nor `nodeRepairConfig` (node auto repair)
 * to the node group it makes. With a launch template of ours and no custom user data or AMI, that component only
 * makes one `aws.eks.NodeGroup` named after itself, as its child, from the cluster's name, the node role's ARN,
 * the subnets, the scaling config (ignoring changes to desiredSize with ignoreScalingChanges), the launch
 * template and the tags. So the same resource is made here directly, with the two settings (and, which the
 * component leaves out when given a launch template, the Kubernetes version, so that the nodes follow the control
 * plane), and with an alias to its old URN (the child of `eks:index:ManagedNodeGroup`): for a stack made with the
 * component, the engine takes it for the node group it has and updates it in place rather than making a second
 * one. (A `transforms` option on the component could edit its child through the engine instead, but under the
 * unit tests' mocks a multi-language component's children never register, so only the transform function could
 * be tested; here the node group's every input, and the alias, are. That an existing stack's preview shows an
 * update and no replacement only a run on AWS can show: docs/eks.md.)
 */
export class EksCluster extends pulumi.ComponentResource {
    // The four members typed with @pulumi/aws and eks are @internal: the program's build leaves them out of the
    // component's compiled declarations, so that the rest of the program type-checks without the AWS SDKs'
    // (tsconfig.eks.json). In TypeScript sources they are public like the others.
    /** @internal The EKS cluster (@pulumi/eks). */
    public readonly cluster: eks.Cluster;
    /** @internal The managed node group. */
    public readonly nodeGroup: aws.eks.NodeGroup;
    /** @internal The CoreDNS managed add-on, made once the node group has nodes for its pods. */
    public readonly coreDns: aws.eks.Addon;
    /** @internal The key that encrypts Kubernetes secrets, when this component made it. */
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

        const deletionProtection = args.deletionProtection ?? false;
        const supportType = args.supportType ?? "STANDARD";
        const addons = args.addonVersions;
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
            // On the EKS cluster only: the stack's opt-in into extended support, which the policy pack requires of it.
            clusterTags: supportType === "EXTENDED" ? { [EXTENDED_SUPPORT_TAG]: "true" } : undefined,
            // Set either way: EKS's own default, when no policy is given, is EXTENDED.
            upgradePolicy: { supportType },
            deletionProtection,
            // The VPC CNI and kube-proxy add-ons eks.Cluster makes, at the pinned versions: without one it asks AWS for
            // the newest on every run and updates the add-on (restarting aws-node or kube-proxy on every node).
            vpcCniOptions: addons && { addonVersion: addons.vpcCni },
            kubeProxyAddonOptions: addons && { version: addons.kubeProxy },
            // eks.Cluster makes a CoreDNS add-on only with its default node group (skipped here) or Fargate; it is made
            // below, after the node group, so that its pods have nodes to run on. Off here explicitly.
            corednsAddonOptions: { enabled: false },
        }, {
            parent: this,
            // Pulumi's own guard on top of EKS's: pulumi destroy refuses while it is on (docs/eks.md says how to lift both).
            protect: deletionProtection ? true : undefined,
        });
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

        const nodesName = `${name}-nodes`;
        this.nodeGroup = new aws.eks.NodeGroup(nodesName, {
            clusterName: this.clusterName,
            nodeRoleArn: nodeRole.arn,
            instanceTypes: args.instanceTypes,
            // Pinned: EKS's default AMI type for a new node group has changed before (AL2, then AL2023 from 1.30), and
            // a change of amiType replaces the node group. Allowed with this launch template, which names no image.
            amiType: args.amiType ?? "AL2023_x86_64_STANDARD",
            // The nodes follow the control plane: a new kubernetesVersion upgrades the cluster first (the node group
            // waits for its name), then the nodes, as updateConfig says.
            version: args.kubernetesVersion,
            scalingConfig: { desiredSize: args.desiredSize, minSize: args.minSize, maxSize: args.maxSize },
            // Nodes in private subnets when the VPC has them.
            subnetIds: pulumi.all([network.privateSubnetIds, network.publicSubnetIds])
                .apply(([priv, pub]) => (priv.length > 0 ? priv : pub)),
            launchTemplate: { id: launchTemplate.id, version: pulumi.interpolate`${launchTemplate.latestVersion}` },
            // How many nodes EKS drains and replaces at once in an update (checked by checkEksClusterArgs).
            updateConfig: nodeUpdateConfig(args.nodeUpdate?.maxUnavailable ?? 1),
            nodeRepairConfig: { enabled: args.nodeUpdate?.autoRepair ?? true },
            tags: args.tags,
        }, {
            parent: this,
            dependsOn: attachments,
            // An autoscaler owns desiredSize after creation; `pulumi up` must not scale it back.
            ignoreChanges: ["scalingConfig.desiredSize"],
            // Where eks.ManagedNodeGroup put it: its child, of the same name. A stack made before keeps its node group.
            aliases: [{ parent: pulumi.createUrn(nodesName, "eks:index:ManagedNodeGroup", this) }],
        });

        // After the node group, which EKS reports active once its nodes have joined: an add-on whose pods have no node
        // would stay degraded. OVERWRITE adopts the CoreDNS that EKS installs by itself in every new cluster.
        this.coreDns = new aws.eks.Addon(`${name}-coredns`, {
            clusterName: this.clusterName,
            addonName: "coredns",
            addonVersion: addons?.coreDns,
            resolveConflictsOnCreate: "OVERWRITE",
            resolveConflictsOnUpdate: "OVERWRITE",
            // Removing the add-on from the program leaves CoreDNS running in the cluster, as eks.Cluster's add-ons do.
            preserve: true,
            tags: args.tags,
        }, { parent: this, dependsOn: [this.nodeGroup] });

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
