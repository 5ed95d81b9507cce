import * as assert from "assert";
import { asSecret, configMap, providerRef, FAKE_KUBECONFIG, LB_HOSTNAME, one, ofType, ProgramOutputs, registeredUrns, registrations, runProgram, stageConfig } from "../harness/mocks";

const SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB me@laptop";

describe("EKS stage program (dev, under mocks)", () => {
    let out: ProgramOutputs;
    before(async () => {
        out = await runProgram({ ...stageConfig("dev"), ...configMap({ replicas: "3", port: "8080", image: "httpd:2.4", containerPort: "8081" }) });
    });

    it("sends replicas, image and container port to the Deployment; the container keeps the tutorial's name", () => {
        const d = one("kubernetes:apps/v1:Deployment").inputs;
        assert.strictEqual(d.spec.replicas, 3);
        const [container] = d.spec.template.spec.containers;
        assert.strictEqual(container.image, "httpd:2.4");
        assert.strictEqual(container.name, "nginx-container");
        assert.deepStrictEqual(container.ports, [{ name: "http", containerPort: 8081, protocol: "TCP" }]);
    });

    it("names and labels as the tutorial does, with a RollingUpdate of 25%/25%", () => {
        const d = one("kubernetes:apps/v1:Deployment").inputs;
        assert.strictEqual(d.metadata.name, "sample-deployment");
        assert.deepStrictEqual(d.spec.selector.matchLabels, { app: "sample-app" });
        assert.deepStrictEqual(d.spec.template.metadata.labels, { app: "sample-app" });
        assert.deepStrictEqual(d.spec.strategy, { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } });
        assert.strictEqual(one("kubernetes:core/v1:Service").inputs.metadata.name, "sample-service");
    });

    it("gives the container readiness and liveness probes and resources", () => {
        const [c] = one("kubernetes:apps/v1:Deployment").inputs.spec.template.spec.containers;
        assert.deepStrictEqual(c.readinessProbe.httpGet, { path: "/", port: "http" });
        assert.deepStrictEqual(c.livenessProbe.httpGet, { path: "/", port: "http" });
        assert.deepStrictEqual(c.resources, { requests: { cpu: "50m", memory: "32Mi" }, limits: { cpu: "250m", memory: "128Mi" } });
    });

    it("exposes the port through a LoadBalancer Service whose targetPort is the container's named port", () => {
        const s = one("kubernetes:core/v1:Service").inputs;
        assert.strictEqual(s.spec.type, "LoadBalancer");
        assert.deepStrictEqual(s.spec.ports, [{ name: "http", port: 8080, targetPort: "http", protocol: "TCP" }]);
        const [container] = one("kubernetes:apps/v1:Deployment").inputs.spec.template.spec.containers;
        assert.deepStrictEqual(container.ports.map((p: { name: string }) => p.name), ["http"]);
    });

    it("drains a terminating pod for 5 s before its server stops, within a grace period of 35 s", () => {
        const pod = one("kubernetes:apps/v1:Deployment").inputs.spec.template.spec;
        assert.deepStrictEqual(pod.containers[0].lifecycle, { preStop: { sleep: { seconds: 5 } } });
        assert.strictEqual(pod.terminationGracePeriodSeconds, 35);
    });

    it("selects exactly the Deployment's pod labels with the Service", () => {
        const d = one("kubernetes:apps/v1:Deployment").inputs;
        const s = one("kubernetes:core/v1:Service").inputs;
        assert.deepStrictEqual(s.spec.selector, d.spec.template.metadata.labels);
        assert.deepStrictEqual(s.spec.selector, d.spec.selector.matchLabels);
    });

    it("binds every Kubernetes resource to the cluster's provider, built from the cluster's kubeconfig", () => {
        const provider = one("pulumi:providers:kubernetes");
        assert.strictEqual(provider.name, "eks-nginx-test-k8s");
        assert.deepStrictEqual(asSecret(provider.inputs.kubeconfig), { secret: true, value: FAKE_KUBECONFIG });
        const k8sResources = registrations.filter((r) => r.type.startsWith("kubernetes:"));
        assert.deepStrictEqual(k8sResources.map((r) => r.type).sort(),
            ["kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service", "kubernetes:policy/v1:PodDisruptionBudget"]);
        for (const r of k8sResources) {
            assert.strictEqual(r.provider, providerRef(), `${r.type} ${r.name}`);
        }
    });

    it("identifies the cluster to its provider by the cluster's ARN, so a changed kubeconfig updates the provider instead of replacing the app", () => {
        assert.strictEqual(one("pulumi:providers:kubernetes").inputs.clusterIdentifier, "arn:aws:eks:ap-northeast-1:123456789012:cluster/eks-nginx-test-eks-1234567");
    });

    it("parents the app's resources to the app component and the cluster's to the cluster component", () => {
        const urns = registeredUrns();
        const k8sUrns = urns.filter((u) => /\$kubernetes:|::kubernetes:/.test(u));
        assert.strictEqual(k8sUrns.length, 3);
        for (const urn of k8sUrns) {
            assert.match(urn, /::eks-nginx:app:WebApp\$kubernetes:(apps\/v1:Deployment|core\/v1:Service|policy\/v1:PodDisruptionBudget)::/);
        }
        const clusterChildren = urns.filter((u) => u.includes("eks-nginx:cluster:EksCluster$"));
        for (const type of ["eks:index:Cluster", "aws:eks/nodeGroup:NodeGroup", "aws:eks/addon:Addon", "pulumi:providers:kubernetes", "aws:ec2/launchTemplate:LaunchTemplate"]) {
            assert.ok(clusterChildren.some((u) => u.includes(`$${type}::`)), `${type} under EksCluster`);
        }
    });

    it("builds an API-mode EKS cluster without the default node group, in the new VPC", () => {
        const c = one("eks:index:Cluster").inputs;
        assert.strictEqual(c.skipDefaultNodeGroup, true);
        assert.strictEqual(c.authenticationMode, "API");
        assert.strictEqual(c.vpcId, "vpc-0new0000000000000");
        assert.deepStrictEqual(c.privateSubnetIds, ["subnet-0prv0000000000001", "subnet-0prv0000000000002"]);
        assert.deepStrictEqual(c.enabledClusterLogTypes, []);
        assert.deepStrictEqual(c.tags, { project: "eks-nginx", stage: "dev" });
        assert.deepStrictEqual(one("awsx:ec2:Vpc").inputs.natGateways, { strategy: "Single" });
    });

    it("sizes the managed node group from config and leaves desiredSize to an autoscaler", () => {
        const ng = one("aws:eks/nodeGroup:NodeGroup");
        assert.deepStrictEqual(ng.inputs.instanceTypes, ["t2.micro"]);
        assert.deepStrictEqual(ng.inputs.scalingConfig, { desiredSize: 3, minSize: 1, maxSize: 4 });
        assert.deepStrictEqual(ng.ignoreChanges, ["scalingConfig.desiredSize"]);
        assert.deepStrictEqual(ng.inputs.subnetIds, ["subnet-0prv0000000000001", "subnet-0prv0000000000002"], "nodes in private subnets");
    });

    it("makes the node group on the cluster, with the node role, after the role's policies are attached", () => {
        const ng = one("aws:eks/nodeGroup:NodeGroup");
        assert.strictEqual(ng.inputs.clusterName, "eks-nginx-test-eks-1234567");
        assert.strictEqual(ng.inputs.nodeRoleArn, "arn:aws:iam::123456789012:role/eks-nginx-test-node-role");
        assert.deepStrictEqual(ng.inputs.tags, { project: "eks-nginx", stage: "dev" });
        const urns = registeredUrns();
        for (const key of ["worker", "cni", "ecr", "ssm"]) {
            const attachment = urns.find((u) => u.endsWith(`::eks-nginx-test-node-${key}`))!;
            assert.ok(ng.dependencies.includes(attachment), `the node group depends on ${attachment}`);
        }
    });

    it("requires IMDSv2 on the nodes through the node group's launch template", () => {
        const lt = one("aws:ec2/launchTemplate:LaunchTemplate").inputs;
        assert.strictEqual(lt.metadataOptions.httpTokens, "required");
        assert.strictEqual(lt.keyName, undefined);
        const ng = one("aws:eks/nodeGroup:NodeGroup").inputs;
        assert.deepStrictEqual(ng.launchTemplate, { id: "eks-nginx-test-nodes-id", version: "1" });
    });

    it("gives the nodes a role with worker, CNI, ECR and SSM policies, and no SSH without config", () => {
        const policies = ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment").map((r) => r.inputs.policyArn).sort();
        assert.deepStrictEqual(policies, [
            "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
            "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
            "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
            "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
        ]);
        assert.strictEqual(ofType("aws:ec2/keyPair:KeyPair").length, 0);
        assert.strictEqual(ofType("aws:ec2/securityGroup:SecurityGroup").length, 0);
    });

    it("outputs the URL with the load balancer's hostname, names, ready replicas and the cluster name", () => {
        assert.strictEqual(out.url, `http://${LB_HOSTNAME}:8080`);
        assert.strictEqual(out.deploymentName, "sample-deployment");
        assert.strictEqual(out.serviceName, "sample-service");
        assert.strictEqual(out.readyReplicas, 3);
        assert.strictEqual(out.clusterName, "eks-nginx-test-eks-1234567");
    });

    it("encrypts Kubernetes secrets with a new rotating KMS key, API endpoint public and private", () => {
        const key = one("aws:kms/key:Key");
        assert.strictEqual(key.inputs.enableKeyRotation, true);
        const c = one("eks:index:Cluster").inputs;
        assert.strictEqual(c.encryptionConfigKeyArn, `arn:aws:kms:ap-northeast-1:123456789012:key/${key.name}`);
        assert.ok(one("eks:index:Cluster").dependencies.some((u) => u.includes("aws:kms/key:Key::eks-nginx-test-secrets")),
            "the cluster depends on the key");
        assert.strictEqual(c.endpointPublicAccess, true);
        assert.strictEqual(c.endpointPrivateAccess, true);
    });

    it("makes every app resource depend on the node group, so destroy deletes them (and the load balancer) first", () => {
        const nodeGroupUrn = registeredUrns().find((u) => u.endsWith("aws:eks/nodeGroup:NodeGroup::eks-nginx-test-nodes"));
        assert.ok(nodeGroupUrn, "node group registered");
        for (const r of registrations.filter((x) => x.type.startsWith("kubernetes:"))) {
            assert.ok(r.dependencies.includes(nodeGroupUrn!), `${r.type} depends on the node group: ${r.dependencies.join(", ")}`);
        }
        const provider = one("pulumi:providers:kubernetes");
        assert.ok(provider.dependencies.some((u) => u.includes("eks:index:Cluster::")), "the provider depends on the cluster");
    });

    it("gives no one but the creator access by default: no access entries", () => {
        assert.strictEqual(ofType("aws:eks/accessEntry:AccessEntry").length, 0);
        assert.strictEqual(ofType("aws:eks/accessPolicyAssociation:AccessPolicyAssociation").length, 0);
    });

    it("outputs the kubeconfig as a secret, and only it", () => {
        assert.strictEqual(out.kubeconfig, FAKE_KUBECONFIG);
        assert.deepStrictEqual(Object.entries(out.secret).filter(([, s]) => s).map(([k]) => k), ["kubeconfig"]);
    });
});

describe("EKS stage program: SSH and an existing VPC", () => {
    before(async () => {
        await runProgram({ ...stageConfig("dev"), ...configMap({ cluster: {
            instanceTypes: ["t3.medium"], desiredSize: 2, minSize: 1, maxSize: 3, kubernetesVersion: "1.33",
            vpc: { id: "vpc-0abc0000000000000", publicSubnetIds: ["subnet-0aaa0000000000001", "subnet-0aaa0000000000002"] },
            ssh: { publicKey: SSH_KEY, allowedCidrs: ["203.0.113.0/24", "2001:db8::/32"] },
            logTypes: ["api"], tags: { team: "web" },
        } }) });
    });

    it("opens port 22 to the configured CIDRs only", () => {
        const sg = one("aws:ec2/securityGroup:SecurityGroup").inputs;
        assert.strictEqual(sg.vpcId, "vpc-0abc0000000000000");
        assert.deepStrictEqual(sg.ingress, [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["203.0.113.0/24"], ipv6CidrBlocks: ["2001:db8::/32"] }]);
    });

    it("puts the public key in a key pair that the launch template uses, with the cluster's security group kept", () => {
        assert.strictEqual(one("aws:ec2/keyPair:KeyPair").inputs.publicKey, SSH_KEY);
        const lt = one("aws:ec2/launchTemplate:LaunchTemplate").inputs;
        assert.strictEqual(lt.keyName, "eks-nginx-test-ssh-key");
        assert.deepStrictEqual(lt.vpcSecurityGroupIds, ["sg-0eks0managed0000", "eks-nginx-test-ssh-id"]);
        assert.strictEqual(lt.metadataOptions.httpTokens, "required");
    });

    it("uses the given VPC, makes none, and puts nodes in public subnets when there are no private ones", () => {
        assert.strictEqual(ofType("awsx:ec2:Vpc").length, 0);
        const c = one("eks:index:Cluster").inputs;
        assert.strictEqual(c.vpcId, "vpc-0abc0000000000000");
        assert.strictEqual(c.version, "1.33");
        assert.deepStrictEqual(c.enabledClusterLogTypes, ["api"]);
        const ng = one("aws:eks/nodeGroup:NodeGroup").inputs;
        assert.deepStrictEqual(ng.subnetIds, ["subnet-0aaa0000000000001", "subnet-0aaa0000000000002"]);
        assert.deepStrictEqual(ng.instanceTypes, ["t3.medium"]);
        assert.deepStrictEqual(ng.scalingConfig, { desiredSize: 2, minSize: 1, maxSize: 3 });
        assert.deepStrictEqual(ng.tags, { team: "web" });
    });
});

describe("EKS stage program: a given KMS key, a private API endpoint", () => {
    const KEY = "arn:aws:kms:ap-northeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    before(async () => {
        await runProgram({ ...stageConfig("dev"), ...configMap({ cluster: {
            instanceTypes: ["t2.micro"], desiredSize: 3, minSize: 1, maxSize: 4,
            kmsKeyArn: KEY, endpointPublicAccess: false, endpointPrivateAccess: true,
        } }) });
    });

    it("uses the given key and makes none", () => {
        assert.strictEqual(ofType("aws:kms/key:Key").length, 0);
        assert.strictEqual(one("eks:index:Cluster").inputs.encryptionConfigKeyArn, KEY);
    });

    it("turns the public endpoint off", () => {
        const c = one("eks:index:Cluster").inputs;
        assert.strictEqual(c.endpointPublicAccess, false);
        assert.strictEqual(c.endpointPrivateAccess, true);
        assert.strictEqual(c.publicAccessCidrs, undefined);
    });
});

describe("EKS stage program: secrets encryption off", () => {
    it("makes no key and sets no encryption config", async () => {
        await runProgram({ ...stageConfig("dev"), ...configMap({ cluster: {
            instanceTypes: ["t2.micro"], desiredSize: 3, minSize: 1, maxSize: 4, secretsEncryption: false,
            publicAccessCidrs: ["203.0.113.0/24"],
        } }) });
        assert.strictEqual(ofType("aws:kms/key:Key").length, 0);
        assert.strictEqual(one("eks:index:Cluster").inputs.encryptionConfigKeyArn, undefined);
        assert.deepStrictEqual(one("eks:index:Cluster").inputs.publicAccessCidrs, ["203.0.113.0/24"]);
    });
});

describe("EKS stage program: access for the team (cluster.access)", () => {
    const ADMINS = "arn:aws:iam::123456789012:role/platform-admins";
    const WEB = "arn:aws:iam::123456789012:role/teams/web/deployers";
    const AUDITOR = "arn:aws:iam::210987654321:user/auditor";
    const OPS = "arn:aws:iam::123456789012:role/ops";
    const policy = (name: string) => `arn:aws:eks::aws:cluster-access-policy/${name}`;
    before(async () => {
        await runProgram({ ...stageConfig("dev"), ...configMap({ cluster: {
            instanceTypes: ["t2.micro"], desiredSize: 3, minSize: 1, maxSize: 4, tags: { team: "platform" },
            access: [
                { principalArn: ADMINS, access: "admin" },
                { principalArn: WEB, access: "edit", namespaces: ["web", "web-staging"] },
                { principalArn: AUDITOR, access: "view" },
                { principalArn: OPS, access: "admin", namespaces: ["ops"] },
            ],
        } }) });
    });

    it("makes one STANDARD access entry per principal on the cluster, named after the principal, under EksCluster", () => {
        const entries = ofType("aws:eks/accessEntry:AccessEntry");
        assert.deepStrictEqual(entries.map((e) => e.inputs.principalArn), [ADMINS, WEB, AUDITOR, OPS]);
        for (const e of entries) {
            assert.strictEqual(e.inputs.clusterName, "eks-nginx-test-eks-1234567");
            assert.strictEqual(e.inputs.type, "STANDARD");
            assert.deepStrictEqual(e.inputs.tags, { team: "platform" });
        }
        assert.deepStrictEqual(entries.map((e) => e.name), [
            "eks-nginx-test-access-123456789012/role/platform-admins",
            "eks-nginx-test-access-123456789012/role/teams/web/deployers",
            "eks-nginx-test-access-210987654321/user/auditor",
            "eks-nginx-test-access-123456789012/role/ops",
        ]);
        for (const urn of registeredUrns().filter((u) => u.includes("aws:eks/access"))) {
            assert.match(urn, /eks-nginx:cluster:EksCluster\$aws:eks\/access/);
        }
    });

    it("associates the AWS-managed policy of each level: cluster-admin cluster-wide, namespace admin, edit and view", () => {
        const associations = ofType("aws:eks/accessPolicyAssociation:AccessPolicyAssociation");
        assert.deepStrictEqual(associations.map((a) => ({ principal: a.inputs.principalArn, policy: a.inputs.policyArn, scope: a.inputs.accessScope })), [
            { principal: ADMINS, policy: policy("AmazonEKSClusterAdminPolicy"), scope: { type: "cluster" } },
            { principal: WEB, policy: policy("AmazonEKSEditPolicy"), scope: { type: "namespace", namespaces: ["web", "web-staging"] } },
            { principal: AUDITOR, policy: policy("AmazonEKSViewPolicy"), scope: { type: "cluster" } },
            { principal: OPS, policy: policy("AmazonEKSAdminPolicy"), scope: { type: "namespace", namespaces: ["ops"] } },
        ]);
        for (const a of associations) {
            assert.strictEqual(a.inputs.clusterName, "eks-nginx-test-eks-1234567");
        }
    });

    it("makes each association after its entry, and replaces it by deleting it first (one association per principal and policy)", () => {
        const urns = registeredUrns();
        for (const a of ofType("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")) {
            const entry = ofType("aws:eks/accessEntry:AccessEntry").find((e) => e.inputs.principalArn === a.inputs.principalArn)!;
            assert.ok(a.dependencies.includes(urns.find((u) => u.endsWith(`::${entry.name}`))!), `${a.name} depends on ${entry.name}`);
            assert.strictEqual(a.deleteBeforeReplace, true, a.name);
        }
    });

    it("leaves the cluster's own authentication as it was: API mode, the creator's bootstrap admin access", () => {
        assert.strictEqual(one("eks:index:Cluster").inputs.authenticationMode, "API");
        assert.strictEqual(one("eks:index:Cluster").inputs.accessEntries, undefined);
    });

    it("uses the principal's partition for the policy ARN", async () => {
        await runProgram({ ...stageConfig("dev"), ...configMap({ cluster: {
            instanceTypes: ["t2.micro"], desiredSize: 3, minSize: 1, maxSize: 4,
            access: [{ principalArn: "arn:aws-cn:iam::123456789012:role/admins", access: "view" }],
        } }) });
        assert.strictEqual(one("aws:eks/accessPolicyAssociation:AccessPolicyAssociation").inputs.policyArn,
            "arn:aws-cn:eks::aws:cluster-access-policy/AmazonEKSViewPolicy");
    });
});
