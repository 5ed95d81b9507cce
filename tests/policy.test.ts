import * as assert from "assert";
import type { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import {
    containersHaveLimitsAndReadiness, eksControlPlaneLogging, eksExtendedSupportOptIn, eksSecretsEncrypted, imdsv2Required, loadBalancerNotOpen,
    nonRootContainers, noLatestImages, noSshFromInternet, POLICIES, prodEksDeletionProtection, prodLoadBalancerNotOpen, prodReplicasAndPdb, stackOf,
} from "../policy/rules";
import { configMap, registeredUrns, registrations, runProgram, stageConfig, writeTempKubeconfig } from "../harness/mocks";

/** Each rule gets a passing and a violating resource; violations are collected, not thrown. */

const urnFor = (type: string, name: string, stack = "dev") => `urn:pulumi:${stack}::eks-nginx::${type}::${name}`;

class NotApplicable extends Error {}

/** A resource rule's violations for a resource of the given stack, or "not applicable" when the rule stands down. */
function validateIn(policy: ResourceValidationPolicy, type: string, props: Record<string, unknown>, stack = "dev",
    config: Record<string, unknown> = {}): string[] | "not applicable" {
    const violations: string[] = [];
    const args = {
        type, props, urn: urnFor(type, "r", stack), name: "r", opts: {}, stackTags: new Map(),
        isType: () => false, asType: () => undefined, getConfig: () => config,
        notApplicable: (reason?: string) => { throw new NotApplicable(reason); },
    } as unknown as ResourceValidationArgs;
    const validate = policy.validateResource;
    try {
        for (const v of Array.isArray(validate) ? validate : [validate!]) {
            void v(args, (message) => violations.push(message));
        }
    } catch (e) {
        if (e instanceof NotApplicable) {
            return "not applicable";
        }
        throw e;
    }
    return violations;
}

/** Violations only: a rule that stands down reports none. */
function check(policy: ResourceValidationPolicy, type: string, props: Record<string, unknown>, stack = "dev"): string[] {
    const result = validateIn(policy, type, props, stack);
    return result === "not applicable" ? [] : result;
}

function resource(type: string, name: string, props: Record<string, unknown>, stack = "prod"): PolicyResource {
    return { type, name, props, urn: urnFor(type, name, stack), opts: {}, dependencies: [], propertyDependencies: {},
        isType: () => false, asType: () => undefined } as unknown as PolicyResource;
}

function checkStack(policy: StackValidationPolicy, resources: PolicyResource[], config: Record<string, unknown> = {}): string[] | "not applicable" {
    const violations: string[] = [];
    const args = {
        resources, getConfig: () => config,
        notApplicable: (reason?: string) => { throw new NotApplicable(reason); },
    } as unknown as StackValidationArgs;
    try {
        void policy.validateStack(args, (message) => violations.push(message));
    } catch (e) {
        if (e instanceof NotApplicable) {
            return "not applicable";
        }
        throw e;
    }
    return violations;
}

const goodContainer = {
    name: "nginx-container", image: "nginx:1.28.0",
    resources: { limits: { cpu: "250m", memory: "128Mi" } },
    readinessProbe: { httpGet: { path: "/", port: "http" } },
    securityContext: { runAsNonRoot: true },
};
const deployment = (container: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    metadata: { name: "sample-deployment" },
    spec: { replicas: 3, selector: { matchLabels: { app: "sample-app" } },
        template: { metadata: { labels: { app: "sample-app" } }, spec: { containers: [container] } }, ...extra },
});
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";

describe("policy: no-ssh-from-internet (mandatory)", () => {
    it("passes SSH from a named CIDR", () => {
        assert.deepStrictEqual(check(noSshFromInternet, "aws:ec2/securityGroup:SecurityGroup",
            { ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["203.0.113.0/24"] }] }), []);
    });
    it("flags SSH from 0.0.0.0/0, from ::/0, and an all-protocols rule", () => {
        assert.strictEqual(check(noSshFromInternet, "aws:ec2/securityGroup:SecurityGroup",
            { ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }] }).length, 1);
        assert.strictEqual(check(noSshFromInternet, "aws:ec2/securityGroup:SecurityGroup",
            { ingress: [{ protocol: "-1", fromPort: 0, toPort: 0, ipv6CidrBlocks: ["::/0"] }] }).length, 1);
        assert.match(check(noSshFromInternet, "aws:ec2/securityGroupRule:SecurityGroupRule",
            { type: "ingress", protocol: "tcp", fromPort: 0, toPort: 1024, cidrBlocks: ["0.0.0.0/0"] })[0], /opens SSH to the internet/);
    });
    it("lets HTTPS from the internet through", () => {
        assert.deepStrictEqual(check(noSshFromInternet, "aws:ec2/securityGroup:SecurityGroup",
            { ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] }] }), []);
    });
});

describe("policy: imdsv2-required (mandatory)", () => {
    it("passes a launch template with httpTokens required, and a node group that has one", () => {
        assert.deepStrictEqual(check(imdsv2Required, "aws:ec2/launchTemplate:LaunchTemplate", { metadataOptions: { httpTokens: "required" } }), []);
        assert.deepStrictEqual(check(imdsv2Required, "eks:index:ManagedNodeGroup", { launchTemplate: { id: "lt-1", version: "1" } }), []);
    });
    it("flags optional tokens and a node group on EKS's default template", () => {
        assert.match(check(imdsv2Required, "aws:ec2/launchTemplate:LaunchTemplate", { metadataOptions: { httpTokens: "optional" } })[0],
            /httpTokens is "optional"; set "required"/);
        assert.match(check(imdsv2Required, "eks:index:ManagedNodeGroup", {})[0], /no launch template/);
    });
});

describe("policy: containers-have-limits-and-readiness (mandatory)", () => {
    it("passes a container with both limits and a readiness probe", () => {
        assert.deepStrictEqual(check(containersHaveLimitsAndReadiness, DEPLOYMENT, deployment(goodContainer)), []);
    });
    it("flags a missing memory limit and a missing readiness probe", () => {
        const v = check(containersHaveLimitsAndReadiness, DEPLOYMENT,
            deployment({ ...goodContainer, resources: { limits: { cpu: "1" } }, readinessProbe: undefined }));
        assert.deepStrictEqual(v, ["container nginx-container has no memory limit (resources.limits)", "container nginx-container has no readinessProbe"]);
    });
});

describe("policy: no-latest-or-untagged-images (mandatory)", () => {
    for (const image of ["nginx:1.28.0", "registry.example.com:5000/team/app:2.1", `nginx@sha256:${"a".repeat(64)}`]) {
        it(`passes ${image}`, () => {
            assert.deepStrictEqual(check(noLatestImages, DEPLOYMENT, deployment({ ...goodContainer, image })), []);
        });
    }
    for (const image of ["nginx:latest", "nginx", "registry.example.com:5000/team/app"]) {
        it(`flags ${image}`, () => {
            assert.match(check(noLatestImages, DEPLOYMENT, deployment({ ...goodContainer, image }))[0],
                new RegExp(`uses image "${image}", which is .*(latest).*; pin a version tag or a digest`));
        });
    }
});

describe("policy: prod-replicas-and-disruption-budget (mandatory, production stacks)", () => {
    const pdb = resource("kubernetes:policy/v1:PodDisruptionBudget", "sample-pdb",
        { spec: { maxUnavailable: 1, selector: { matchLabels: { app: "sample-app" } } } });
    it("passes 3 replicas with a budget selecting the pods", () => {
        assert.deepStrictEqual(checkStack(prodReplicasAndPdb, [resource(DEPLOYMENT, "d", deployment(goodContainer)), pdb]), []);
    });
    it("passes an autoscaler with minimum 3 and a budget", () => {
        const d = deployment(goodContainer);
        delete (d.spec as Record<string, unknown>).replicas;
        const hpa = resource("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "hpa",
            { spec: { scaleTargetRef: { kind: "Deployment", name: "sample-deployment" }, minReplicas: 3, maxReplicas: 6 } });
        assert.deepStrictEqual(checkStack(prodReplicasAndPdb, [resource(DEPLOYMENT, "d", d), hpa, pdb]), []);
    });
    it("flags one replica and no budget in prod", () => {
        const d = deployment(goodContainer, { replicas: 1 });
        assert.deepStrictEqual(checkStack(prodReplicasAndPdb, [resource(DEPLOYMENT, "d", d)]), [
            "Deployment sample-deployment runs 1 replica; production needs at least 2",
            "Deployment sample-deployment has no PodDisruptionBudget selecting its pods",
        ]);
    });
    it("flags a budget that selects other pods", () => {
        const other = resource("kubernetes:policy/v1:PodDisruptionBudget", "other", { spec: { selector: { matchLabels: { app: "other" } } } });
        assert.deepStrictEqual(checkStack(prodReplicasAndPdb, [resource(DEPLOYMENT, "d", deployment(goodContainer)), other]),
            ["Deployment sample-deployment has no PodDisruptionBudget selecting its pods"]);
    });
    it("does not apply to dev or local stacks, and follows the prodStacks setting", () => {
        const single = resource(DEPLOYMENT, "d", deployment(goodContainer, { replicas: 1 }), "dev");
        assert.strictEqual(checkStack(prodReplicasAndPdb, [single]), "not applicable");
        assert.strictEqual(checkStack(prodReplicasAndPdb, [single], { prodStacks: ["dev"] }).length, 2);
    });
});

describe("policy: prod-load-balancer-not-open-to-internet (mandatory, production stacks) and load-balancer-not-open-to-internet (advisory, others)", () => {
    const SERVICE = "kubernetes:core/v1:Service";
    const svc = (spec: Record<string, unknown> = {}, annotations?: Record<string, string>) =>
        ({ metadata: { name: "sample-service", annotations }, spec: { type: "LoadBalancer", ports: [{ port: 80 }], ...spec } });
    const prod = (props: Record<string, unknown>) => validateIn(prodLoadBalancerNotOpen, SERVICE, props, "prod");
    const HINT = "list the clients in loadBalancer.sourceRanges, make it internal (loadBalancer.scheme internal), " +
        "or say it is public on purpose with loadBalancer.allowInternet true (annotation eks-nginx/allow-internet: \"true\")";

    const passing: [string, Record<string, unknown>][] = [
        ["named client CIDRs", svc({ loadBalancerSourceRanges: ["203.0.113.0/24", "2001:db8::/32"] })],
        ["named CIDRs in the older annotation form", svc({}, { "service.beta.kubernetes.io/load-balancer-source-ranges": "203.0.113.0/24, 198.51.100.0/24" })],
        ["an internal in-tree load balancer", svc({}, { "service.beta.kubernetes.io/aws-load-balancer-internal": "true" })],
        ["an internal NLB (legacy internal value 0.0.0.0/0)", svc({}, {
            "service.beta.kubernetes.io/aws-load-balancer-type": "nlb", "service.beta.kubernetes.io/aws-load-balancer-internal": "0.0.0.0/0" })],
        ["the explicit opt-in, open to all", svc({}, { "eks-nginx/allow-internet": "true" })],
        ["the explicit opt-in with 0.0.0.0/0 listed", svc({ loadBalancerSourceRanges: ["0.0.0.0/0"] }, { "eks-nginx/allow-internet": "true" })],
        ["an AWS Load Balancer Controller NLB without a scheme (internal by default)", svc({}, { "service.beta.kubernetes.io/aws-load-balancer-type": "external" })],
        ["its loadBalancerClass with scheme internal", svc({ loadBalancerClass: "service.k8s.aws/nlb" }, { "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal" })],
        ["a NodePort Service", svc({ type: "NodePort" })],
        ["a ClusterIP Service", svc({ type: "ClusterIP" })],
    ];
    for (const [title, props] of passing) {
        it(`passes ${title}`, () => {
            assert.deepStrictEqual(prod(props), []);
        });
    }

    const violating: [string, Record<string, unknown>, string][] = [
        ["no source ranges (the tutorial's Service)", svc(), "loadBalancerSourceRanges is unset"],
        ["an empty source range list", svc({ loadBalancerSourceRanges: [] }), "loadBalancerSourceRanges is unset"],
        ["0.0.0.0/0 among named CIDRs", svc({ loadBalancerSourceRanges: ["203.0.113.0/24", "0.0.0.0/0"] }), "loadBalancerSourceRanges includes 0.0.0.0/0"],
        ["::/0", svc({ loadBalancerSourceRanges: ["::/0"] }), "loadBalancerSourceRanges includes ::/0"],
        ["0.0.0.0/0 in the older annotation form", svc({}, { "service.beta.kubernetes.io/load-balancer-source-ranges": "0.0.0.0/0" }),
            "loadBalancerSourceRanges includes 0.0.0.0/0"],
        ["an in-tree NLB marked internal \"false\"", svc({}, {
            "service.beta.kubernetes.io/aws-load-balancer-type": "nlb", "service.beta.kubernetes.io/aws-load-balancer-internal": "false" }),
        "loadBalancerSourceRanges is unset"],
        ["an in-tree load balancer with only the controller's scheme annotation (which the in-tree one ignores)", svc({}, {
            "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal" }), "loadBalancerSourceRanges is unset"],
        ["an AWS Load Balancer Controller NLB that is internet-facing", svc({}, {
            "service.beta.kubernetes.io/aws-load-balancer-type": "external", "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing" }),
        "loadBalancerSourceRanges is unset"],
        ["an opt-in with another value than \"true\"", svc({}, { "eks-nginx/allow-internet": "yes" }), "loadBalancerSourceRanges is unset"],
    ];
    for (const [title, props, why] of violating) {
        it(`flags ${title}`, () => {
            assert.deepStrictEqual(prod(props), [`Service sample-service is an internet-facing load balancer open to every address (${why}); ${HINT}`]);
        });
    }

    it("is mandatory on production stacks only, advisory on the others, and follows the prodStacks setting", () => {
        const open = svc();
        assert.strictEqual(validateIn(prodLoadBalancerNotOpen, SERVICE, open, "dev"), "not applicable");
        assert.strictEqual(validateIn(loadBalancerNotOpen, SERVICE, open, "prod"), "not applicable");
        assert.strictEqual((validateIn(loadBalancerNotOpen, SERVICE, open, "dev") as string[]).length, 1);
        assert.strictEqual((validateIn(prodLoadBalancerNotOpen, SERVICE, open, "dev", { prodStacks: ["dev"] }) as string[]).length, 1);
        assert.strictEqual(validateIn(loadBalancerNotOpen, SERVICE, open, "dev", { prodStacks: ["dev"] }), "not applicable");
        assert.strictEqual(prodLoadBalancerNotOpen.enforcementLevel, "mandatory");
        assert.strictEqual(loadBalancerNotOpen.enforcementLevel, "advisory");
    });

    it("leaves other resource types alone", () => {
        assert.deepStrictEqual(validateIn(prodLoadBalancerNotOpen, "kubernetes:example.com/v1:Gateway", { spec: { type: "LoadBalancer" } }, "prod"), []);
        assert.deepStrictEqual(validateIn(prodLoadBalancerNotOpen, DEPLOYMENT, deployment(goodContainer), "prod"), []);
    });
});

describe("policy: prod-eks-deletion-protection (mandatory, production stacks)", () => {
    const HINT = "a production cluster must not be deletable by one command: set cluster.deletionProtection true";
    for (const type of ["eks:index:Cluster", "aws:eks/cluster:Cluster"]) {
        it(`passes ${type} with deletion protection on`, () => {
            assert.deepStrictEqual(validateIn(prodEksDeletionProtection, type, { deletionProtection: true }, "prod"), []);
        });
        it(`flags ${type} with deletion protection off or unset`, () => {
            assert.deepStrictEqual(validateIn(prodEksDeletionProtection, type, { deletionProtection: false }, "prod"),
                [`EKS cluster r has no deletion protection (deletionProtection is false); ${HINT}`]);
            assert.deepStrictEqual(validateIn(prodEksDeletionProtection, type, {}, "prod"),
                [`EKS cluster r has no deletion protection (deletionProtection is "unset"); ${HINT}`]);
        });
    }
    it("does not apply to other stacks, follows the prodStacks setting, and leaves other types alone", () => {
        assert.strictEqual(validateIn(prodEksDeletionProtection, "eks:index:Cluster", {}, "dev"), "not applicable");
        assert.strictEqual(validateIn(prodEksDeletionProtection, "eks:index:Cluster", {}, "staging"), "not applicable");
        assert.strictEqual((validateIn(prodEksDeletionProtection, "eks:index:Cluster", {}, "dev", { prodStacks: ["dev"] }) as string[]).length, 1);
        assert.deepStrictEqual(validateIn(prodEksDeletionProtection, "aws:eks/nodeGroup:NodeGroup", {}, "prod"), []);
    });
});

describe("policy: eks-extended-support-opt-in (mandatory)", () => {
    const why = (policy: string) => `EKS cluster r may enter extended support (upgrade policy ${policy}), which costs about six times the standard ` +
        "control-plane price per hour; set cluster.supportType STANDARD, or EXTENDED on purpose (which tags the cluster eks-nginx/extended-support: \"true\")";
    const passing: [string, string, Record<string, unknown>][] = [
        ["STANDARD support", "eks:index:Cluster", { upgradePolicy: { supportType: "STANDARD" } }],
        ["EXTENDED with the opt-in tag on the cluster (clusterTags)", "eks:index:Cluster",
            { upgradePolicy: { supportType: "EXTENDED" }, clusterTags: { "eks-nginx/extended-support": "true" } }],
        ["an AWS cluster on STANDARD", "aws:eks/cluster:Cluster", { upgradePolicy: { supportType: "STANDARD" } }],
        ["an AWS cluster on EXTENDED, tagged", "aws:eks/cluster:Cluster", { upgradePolicy: { supportType: "EXTENDED" }, tags: { "eks-nginx/extended-support": "true" } }],
    ];
    for (const [title, type, props] of passing) {
        it(`passes ${title}`, () => {
            assert.deepStrictEqual(validateIn(eksExtendedSupportOptIn, type, props, "dev"), []);
        });
    }
    const violating: [string, string, Record<string, unknown>, string][] = [
        ["EXTENDED without the tag", "eks:index:Cluster", { upgradePolicy: { supportType: "EXTENDED" } }, "EXTENDED"],
        ["no upgrade policy (EKS's default is EXTENDED)", "eks:index:Cluster", {}, "unset, which EKS takes as EXTENDED"],
        ["EXTENDED with the tag set to another value than \"true\"", "aws:eks/cluster:Cluster",
            { upgradePolicy: { supportType: "EXTENDED" }, tags: { "eks-nginx/extended-support": "yes" } }, "EXTENDED"],
        ["an AWS cluster without an upgrade policy", "aws:eks/cluster:Cluster", { tags: {} }, "unset, which EKS takes as EXTENDED"],
    ];
    for (const [title, type, props, policy] of violating) {
        it(`flags ${title}`, () => {
            assert.deepStrictEqual(validateIn(eksExtendedSupportOptIn, type, props, "dev"), [why(policy)]);
        });
    }
    it("applies to every stack, and to clusters only", () => {
        assert.strictEqual((validateIn(eksExtendedSupportOptIn, "eks:index:Cluster", {}, "prod") as string[]).length, 1);
        assert.deepStrictEqual(validateIn(eksExtendedSupportOptIn, "aws:eks/nodeGroup:NodeGroup", {}, "dev"), []);
    });
});

describe("policy: advisory rules", () => {
    it("eks-secrets-encrypted-with-kms: passes a key, flags none", () => {
        assert.deepStrictEqual(check(eksSecretsEncrypted, "eks:index:Cluster", { encryptionConfigKeyArn: "arn:aws:kms:r:1:key/k" }), []);
        assert.match(check(eksSecretsEncrypted, "eks:index:Cluster", {})[0], /not encrypted with KMS/);
    });
    it("eks-control-plane-logging: passes api+audit, flags none", () => {
        assert.deepStrictEqual(check(eksControlPlaneLogging, "eks:index:Cluster", { enabledClusterLogTypes: ["api", "audit", "authenticator"] }), []);
        assert.deepStrictEqual(check(eksControlPlaneLogging, "eks:index:Cluster", { enabledClusterLogTypes: [] }),
            ["control-plane log types api, audit are off; set cluster.logTypes"]);
    });
    it("containers-run-as-non-root: passes runAsNonRoot, flags its absence", () => {
        assert.deepStrictEqual(check(nonRootContainers, DEPLOYMENT, deployment(goodContainer)), []);
        assert.match(check(nonRootContainers, DEPLOYMENT, deployment({ ...goodContainer, securityContext: {} }))[0], /may run as root/);
    });
    it("every rule has a level, and the mandatory ones are the eight the project promises", () => {
        assert.deepStrictEqual(POLICIES.filter((p) => p.enforcementLevel === "mandatory").map((p) => p.name), [
            "no-ssh-from-internet", "imdsv2-required", "containers-have-limits-and-readiness", "no-latest-or-untagged-images",
            "prod-replicas-and-disruption-budget", "prod-load-balancer-not-open-to-internet", "prod-eks-deletion-protection",
            "eks-extended-support-opt-in",
        ]);
        assert.deepStrictEqual(POLICIES.filter((p) => p.enforcementLevel === "advisory").map((p) => p.name), [
            "eks-secrets-encrypted-with-kms", "eks-control-plane-logging", "containers-run-as-non-root", "load-balancer-not-open-to-internet",
        ]);
    });
});

describe("policy: the program itself is compliant", () => {
    /** The program's registrations as the analyzer would see them. */
    function asPolicyResources(): PolicyResource[] {
        const urns = registeredUrns();
        return registrations.map((r) => resource(r.type, r.name, r.inputs, "test")).map((p) => ({
            ...p, urn: urns.find((u) => u.endsWith(`${p.type}::${p.name}`)) ?? p.urn,
        }));
    }
    /** Mandatory resource rules' violations, with the program deployed as the given stack (the rules are stage-aware). */
    function mandatoryViolations(stack: string): string[] {
        const found: string[] = [];
        for (const r of asPolicyResources()) {
            for (const p of POLICIES.filter((x) => x.enforcementLevel === "mandatory" && "validateResource" in x)) {
                found.push(...check(p as ResourceValidationPolicy, r.type, r.props, stack).map((m) => `${p.name} ${r.type}: ${m}`));
            }
        }
        return found;
    }

    for (const stage of ["dev", "staging", "prod"]) {
        it(`${stage}: no mandatory violation, and the prod rules hold when the stack counts as production`, async () => {
            await runProgram(stageConfig(stage));
            assert.deepStrictEqual(mandatoryViolations(stage), []);
            // As a production stack, only prod's own Service (an NLB open on purpose) passes.
            const service = asPolicyResources().find((r) => r.type === "kubernetes:core/v1:Service")!;
            const asProduction = validateIn(prodLoadBalancerNotOpen, service.type, service.props, "prod");
            assert.deepStrictEqual(asProduction, stage === "prod" ? [] : [
                "Service sample-service is an internet-facing load balancer open to every address (loadBalancerSourceRanges is unset); " +
                "list the clients in loadBalancer.sourceRanges, make it internal (loadBalancer.scheme internal), or say it is public on " +
                "purpose with loadBalancer.allowInternet true (annotation eks-nginx/allow-internet: \"true\")",
            ]);
            const prodRule = checkStack(prodReplicasAndPdb, asPolicyResources(), { prodStacks: ["test"] });
            assert.deepStrictEqual(prodRule, stage === "dev" ? [
                "Deployment sample-deployment runs 1 replica; production needs at least 2",
                "Deployment sample-deployment has no PodDisruptionBudget selecting its pods",
            ] : []);
            assert.deepStrictEqual(check(eksSecretsEncrypted, "eks:index:Cluster",
                asPolicyResources().find((r) => r.type === "eks:index:Cluster")!.props), []);
            // As a production stack, only prod's own cluster has deletion protection.
            const cluster = asPolicyResources().find((r) => r.type === "eks:index:Cluster")!;
            assert.deepStrictEqual(validateIn(prodEksDeletionProtection, cluster.type, cluster.props, "prod"), stage === "prod" ? [] : [
                "EKS cluster r has no deletion protection (deletionProtection is false); a production cluster must not be deletable by one command: " +
                "set cluster.deletionProtection true",
            ]);
        });
    }

    it("dev with supportType EXTENDED: the tag the program sets is the opt-in the rule accepts; without it, the rule flags the cluster", async () => {
        const cluster = { ...JSON.parse(stageConfig("dev")["eks-nginx:cluster"]), supportType: "EXTENDED" };
        await runProgram({ ...stageConfig("dev"), ...configMap({ cluster }) });
        assert.deepStrictEqual(mandatoryViolations("dev"), []);
        const props = asPolicyResources().find((r) => r.type === "eks:index:Cluster")!.props;
        assert.strictEqual((validateIn(eksExtendedSupportOptIn, "eks:index:Cluster", { ...props, clusterTags: undefined }) as string[]).length, 1);
    });

    it("local: nginx:latest is the one violation", async () => {
        await runProgram({ ...stageConfig("local"), ...configMap({ kubeconfig: writeTempKubeconfig(), image: "nginx:latest" }) });
        assert.deepStrictEqual(mandatoryViolations("local"), [
            "no-latest-or-untagged-images kubernetes:apps/v1:Deployment: container nginx-container uses image \"nginx:latest\", which is the moving tag latest; pin a version tag or a digest, e.g. nginx:1.28.0",
        ]);
    });

    it("reads the stack from a URN", () => {
        assert.strictEqual(stackOf("urn:pulumi:prod::eks-nginx::kubernetes:apps/v1:Deployment::d"), "prod");
    });
});
