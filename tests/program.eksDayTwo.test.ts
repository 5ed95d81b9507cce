/**
 * What the EKS stages need after day one, under mocks: node group updates (how many nodes at once, auto repair),
 * the pinned AMI type and Kubernetes version, the add-ons pinned per Kubernetes version, and the guard rails
 * (deletion protection with Pulumi's protect, the support policy and its opt-in tag). Each setting's effect is read
 * off the registrations: the inputs of eks:index:Cluster, of the aws:eks/nodeGroup:NodeGroup and the CoreDNS
 * aws:eks/addon:Addon, and the resource options the engine receives (protect, aliases, ignoreChanges).
 */
import * as assert from "assert";
import { configMap, one, ofType, registeredUrns, registrations, runProgram, stageConfig } from "../harness/mocks";
import { EXTENDED_SUPPORT_TAG } from "../policy/annotations";
import { ADDON_VERSIONS, DEFAULT_KUBERNETES_VERSION } from "../stacks/addonVersions";
import { readStack } from "../stacks/stack";

const NODE_GROUP = "aws:eks/nodeGroup:NodeGroup";
const CLUSTER = "eks:index:Cluster";
const ADDON = "aws:eks/addon:Addon";
/** dev's own cluster settings, with some changed (the cluster key is one structured value). */
const devCluster = (changes: Record<string, unknown>) => ({ ...JSON.parse(stageConfig("dev")["eks-nginx:cluster"]), ...changes });
const urnOf = (type: string, name: string) => registeredUrns().find((u) => u.endsWith(`${type}::${name}`))!;

describe("EKS day two: dev's node group, add-ons and guard rails (under mocks)", () => {
    before(async () => {
        await runProgram(stageConfig("dev"));
    });

    it("defaults Kubernetes to the table's newest version, 1.34, for the control plane and the nodes", () => {
        assert.strictEqual(DEFAULT_KUBERNETES_VERSION, "1.34");
        assert.strictEqual(one(CLUSTER).inputs.version, "1.34");
        assert.strictEqual(one(NODE_GROUP).inputs.version, "1.34");
    });

    it("pins the nodes' AMI type to Amazon Linux 2023, with the launch template that names no image", () => {
        const ng = one(NODE_GROUP).inputs;
        assert.strictEqual(ng.amiType, "AL2023_x86_64_STANDARD");
        assert.strictEqual(one("aws:ec2/launchTemplate:LaunchTemplate").inputs.imageId, undefined);
    });

    it("replaces one node at a time, with auto repair off in dev (Pulumi.dev.yaml)", () => {
        const ng = one(NODE_GROUP).inputs;
        assert.deepStrictEqual(ng.updateConfig, { maxUnavailable: 1 });
        assert.deepStrictEqual(ng.nodeRepairConfig, { enabled: false });
    });

    it("is one node group, under the old eks.ManagedNodeGroup's URN by alias, so that a stack made before keeps its nodes", () => {
        assert.strictEqual(ofType(NODE_GROUP).length, 1);
        assert.strictEqual(ofType("eks:index:ManagedNodeGroup").length, 0);
        const ng = one(NODE_GROUP);
        assert.strictEqual(ng.name, "eks-nginx-test-nodes");
        const clusterUrn = urnOf("eks-nginx:cluster:EksCluster", "eks-nginx-test");
        const oldParent = "urn:pulumi:test::eks-nginx::eks-nginx:cluster:EksCluster$eks:index:ManagedNodeGroup::eks-nginx-test-nodes";
        assert.ok(clusterUrn.startsWith("urn:pulumi:test::eks-nginx::eks-nginx:cluster:EksCluster::"), clusterUrn);
        // Empty name and type: the alias keeps the node group's own, as eks.ManagedNodeGroup named its child after itself.
        assert.deepStrictEqual(ng.aliases.map((a) => ({ urn: a.urn, name: a.spec?.name, type: a.spec?.type, stack: a.spec?.stack,
            project: a.spec?.project, parent: a.spec?.parenturn, noParent: Boolean(a.spec?.noparent) })),
        [{ urn: undefined, name: "", type: "", stack: "", project: "", parent: oldParent, noParent: false }]);
        // The URN that alias stands for, as the engine composes it: the old parent's type chain, then the node group's.
        const [, parentTypes] = /^urn:pulumi:test::eks-nginx::(.+)::[^:]+$/.exec(oldParent)!;
        assert.strictEqual(`urn:pulumi:test::eks-nginx::${parentTypes}$${NODE_GROUP}::${ng.name}`,
            "urn:pulumi:test::eks-nginx::eks-nginx:cluster:EksCluster$eks:index:ManagedNodeGroup$aws:eks/nodeGroup:NodeGroup::eks-nginx-test-nodes");
    });

    it("pins the VPC CNI and kube-proxy add-ons that eks.Cluster makes to the table's 1.34 row", () => {
        const c = one(CLUSTER).inputs;
        assert.strictEqual(c.vpcCniOptions.addonVersion, ADDON_VERSIONS["1.34"].vpcCni);
        assert.strictEqual(c.kubeProxyAddonOptions.version, ADDON_VERSIONS["1.34"].kubeProxy);
        assert.strictEqual(c.corednsAddonOptions.enabled, false, "eks.Cluster makes no CoreDNS add-on of its own");
    });

    it("makes the CoreDNS add-on itself, pinned, after the node group, and the app waits for it", () => {
        const dns = one(ADDON);
        assert.deepStrictEqual(dns.inputs, {
            clusterName: "eks-nginx-test-eks-1234567", addonName: "coredns", addonVersion: ADDON_VERSIONS["1.34"].coreDns,
            resolveConflictsOnCreate: "OVERWRITE", resolveConflictsOnUpdate: "OVERWRITE", preserve: true, tags: { project: "eks-nginx", stage: "dev" },
        });
        assert.ok(dns.dependencies.includes(urnOf(NODE_GROUP, "eks-nginx-test-nodes")), "CoreDNS waits for the nodes");
        const dnsUrn = urnOf(ADDON, "eks-nginx-test-coredns");
        for (const r of registrations.filter((x) => x.type.startsWith("kubernetes:"))) {
            assert.ok(r.dependencies.includes(dnsUrn), `${r.type} depends on CoreDNS`);
        }
    });

    it("stays on STANDARD support without the opt-in tag, and has no deletion protection nor protect", () => {
        const c = one(CLUSTER);
        assert.deepStrictEqual(c.inputs.upgradePolicy, { supportType: "STANDARD" });
        assert.strictEqual(c.inputs.clusterTags, undefined);
        assert.strictEqual(c.inputs.deletionProtection, false);
        assert.strictEqual(c.protect, undefined);
        assert.deepStrictEqual(registrations.filter((r) => r.protect).map((r) => r.type), []);
    });
});

describe("EKS day two: prod's guard rails (under mocks)", () => {
    before(async () => {
        await runProgram(stageConfig("prod"));
    });

    it("turns EKS deletion protection on and protects the cluster in Pulumi, and nothing else", () => {
        const c = one(CLUSTER);
        assert.strictEqual(c.inputs.deletionProtection, true);
        assert.strictEqual(c.protect, true);
        assert.deepStrictEqual(registrations.filter((r) => r.protect).map((r) => r.type), [CLUSTER]);
    });

    it("repairs nodes (the default) and replaces one at a time", () => {
        assert.deepStrictEqual(one(NODE_GROUP).inputs.nodeRepairConfig, { enabled: true });
        assert.deepStrictEqual(one(NODE_GROUP).inputs.updateConfig, { maxUnavailable: 1 });
    });
});

describe("EKS day two: each setting reaches the resources (under mocks)", () => {
    for (const version of ["1.32", "1.33"] as const) {
        it(`kubernetesVersion ${version}: the control plane, the nodes and the three add-ons of its row`, async () => {
            await runProgram({ ...stageConfig("dev"), ...configMap({ cluster: devCluster({ kubernetesVersion: version }) }) });
            const c = one(CLUSTER).inputs;
            assert.strictEqual(c.version, version);
            assert.strictEqual(one(NODE_GROUP).inputs.version, version);
            assert.strictEqual(c.vpcCniOptions.addonVersion, ADDON_VERSIONS[version].vpcCni);
            assert.strictEqual(c.kubeProxyAddonOptions.version, ADDON_VERSIONS[version].kubeProxy);
            assert.strictEqual(one(ADDON).inputs.addonVersion, ADDON_VERSIONS[version].coreDns);
        });
    }

    it("amiType BOTTLEROCKET_x86_64: the node group's AMI type", async () => {
        await runProgram({ ...stageConfig("dev"), ...configMap({ cluster: devCluster({ amiType: "BOTTLEROCKET_x86_64" }) }) });
        assert.strictEqual(one(NODE_GROUP).inputs.amiType, "BOTTLEROCKET_x86_64");
    });

    const updates: [unknown, Record<string, number>][] = [[2, { maxUnavailable: 2 }], ["34%", { maxUnavailablePercentage: 34 }],
        [100, { maxUnavailable: 100 }], ["100%", { maxUnavailablePercentage: 100 }]];
    for (const [maxUnavailable, updateConfig] of updates) {
        it(`nodeUpdate.maxUnavailable ${JSON.stringify(maxUnavailable)}: updateConfig ${JSON.stringify(updateConfig)}`, async () => {
            await runProgram({ ...stageConfig("dev"), ...configMap({ cluster: devCluster({ nodeUpdate: { maxUnavailable } }) }) });
            assert.deepStrictEqual(one(NODE_GROUP).inputs.updateConfig, updateConfig);
            // nodeUpdate set without autoRepair: the default (on), not dev's false, which this value of nodeUpdate replaces.
            assert.deepStrictEqual(one(NODE_GROUP).inputs.nodeRepairConfig, { enabled: true });
        });
    }

    it("nodeUpdate.autoRepair true in dev: node auto repair on", async () => {
        await runProgram({ ...stageConfig("dev"), ...configMap({ cluster: devCluster({ nodeUpdate: { autoRepair: true } }) }) });
        assert.deepStrictEqual(one(NODE_GROUP).inputs.nodeRepairConfig, { enabled: true });
        assert.deepStrictEqual(one(NODE_GROUP).inputs.updateConfig, { maxUnavailable: 1 });
    });

    it("supportType EXTENDED: the upgrade policy, and the opt-in tag on the EKS cluster only", async () => {
        await runProgram({ ...stageConfig("dev"), ...configMap({ cluster: devCluster({ supportType: "EXTENDED" }) }) });
        const c = one(CLUSTER).inputs;
        assert.deepStrictEqual(c.upgradePolicy, { supportType: "EXTENDED" });
        assert.deepStrictEqual(c.clusterTags, { [EXTENDED_SUPPORT_TAG]: "true" });
        assert.deepStrictEqual(c.tags, { project: "eks-nginx", stage: "dev" }, "the other resources' tags are unchanged");
        assert.strictEqual(one(NODE_GROUP).inputs.tags[EXTENDED_SUPPORT_TAG], undefined);
    });

    it("deletionProtection true in dev: EKS deletion protection and protect on the cluster", async () => {
        await runProgram({ ...stageConfig("dev"), ...configMap({ cluster: devCluster({ deletionProtection: true }) }) });
        assert.strictEqual(one(CLUSTER).inputs.deletionProtection, true);
        assert.strictEqual(one(CLUSTER).protect, true);
    });
});

describe("EKS day two: the new settings per stage", () => {
    it("dev, staging and prod: Kubernetes 1.34, AL2023, one node at a time; auto repair off in dev only; deletion protection in prod only", () => {
        const per = Object.fromEntries(["dev", "staging", "prod"].map((stage) => {
            const c = readStack(stageConfig(stage)).settings.cluster;
            return [stage, { kubernetesVersion: c.kubernetesVersion, amiType: c.amiType, nodeUpdate: c.nodeUpdate,
                deletionProtection: c.deletionProtection, supportType: c.supportType }];
        }));
        const common = { kubernetesVersion: "1.34", amiType: "AL2023_x86_64_STANDARD", supportType: "STANDARD" };
        assert.deepStrictEqual(per, {
            dev: { ...common, nodeUpdate: { maxUnavailable: 1, autoRepair: false }, deletionProtection: false },
            staging: { ...common, nodeUpdate: { maxUnavailable: 1, autoRepair: true }, deletionProtection: false },
            prod: { ...common, nodeUpdate: { maxUnavailable: 1, autoRepair: true }, deletionProtection: true },
        });
    });
});
