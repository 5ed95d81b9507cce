/**
 * The project's policies, AWS and Kubernetes together. Each rule is a plain validation function, so the
 * unit tests (tests/policy.test.ts) call it directly with a passing and a violating resource.
 *
 * Stage-aware: a stack counts as production when its name is listed in the pack's `prodStacks` config
 * (default ["prod"]); the stack name is read from each resource's URN.
 */
import { ALLOW_INTERNET, AWS_LB_INTERNAL, AWS_LB_SCHEME, AWS_LB_TYPE, EXTENDED_SUPPORT_TAG, LB_SOURCE_RANGES } from "./annotations";
import { parseImageReference } from "./imageReference";
import type {
    PolicyResource, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";

export interface PackConfig {
    /** Stack names held to the production rules. */
    prodStacks: string[];
}

export const DEFAULT_PROD_STACKS = ["prod"];

/** The stack name in `urn:pulumi:<stack>::<project>::<type>::<name>`. */
export function stackOf(urn: string): string {
    return /^urn:pulumi:([^:]+)::/.exec(urn)?.[1] ?? "";
}

type Props = Record<string, any>;

const WORKLOADS: Record<string, (p: Props) => Props | undefined> = {
    "kubernetes:apps/v1:Deployment": (p) => p.spec?.template?.spec,
    "kubernetes:apps/v1:StatefulSet": (p) => p.spec?.template?.spec,
    "kubernetes:apps/v1:DaemonSet": (p) => p.spec?.template?.spec,
    "kubernetes:apps/v1:ReplicaSet": (p) => p.spec?.template?.spec,
    "kubernetes:batch/v1:Job": (p) => p.spec?.template?.spec,
    "kubernetes:core/v1:Pod": (p) => p.spec,
};

/** The containers (init containers included) of any workload kind, with the pod spec they belong to. */
export function containersOf(type: string, props: Props): { pod: Props; containers: Props[] } | undefined {
    const pod = WORKLOADS[type]?.(props);
    if (!pod) {
        return undefined;
    }
    return { pod, containers: [...(pod.initContainers ?? []), ...(pod.containers ?? [])] };
}

const INTERNET = new Set(["0.0.0.0/0", "::/0"]);

function coversSsh(from: number | undefined, to: number | undefined, protocol: string | undefined): boolean {
    if (protocol === "-1" || protocol === "all") {
        return true;
    }
    return (protocol === "tcp" || protocol === "6") && (from ?? 0) <= 22 && 22 <= (to ?? 65535);
}

function rule(
    name: string, description: string, enforcementLevel: "mandatory" | "advisory",
    validate: (args: ResourceValidationArgs, report: ReportViolation) => void,
): ResourceValidationPolicy {
    return { name, description, enforcementLevel, validateResource: validate };
}

export const noSshFromInternet = rule("no-ssh-from-internet",
    "Security groups must not open SSH (port 22) to 0.0.0.0/0 or ::/0.", "mandatory", (args, report) => {
        const p = args.props;
        const open = (cidrs: unknown) => (Array.isArray(cidrs) ? cidrs : [cidrs]).filter((c) => INTERNET.has(String(c)));
        if (args.type === "aws:ec2/securityGroup:SecurityGroup") {
            for (const r of p.ingress ?? []) {
                const bad = [...open(r.cidrBlocks ?? []), ...open(r.ipv6CidrBlocks ?? [])];
                if (bad.length > 0 && coversSsh(r.fromPort, r.toPort, r.protocol)) {
                    report(`ingress ${r.protocol} ${r.fromPort}-${r.toPort} from ${bad.join(", ")} opens SSH to the internet; allow named CIDRs only (cluster.ssh.allowedCidrs)`);
                }
            }
        } else if (args.type === "aws:ec2/securityGroupRule:SecurityGroupRule" && p.type === "ingress") {
            const bad = [...open(p.cidrBlocks ?? []), ...open(p.ipv6CidrBlocks ?? [])];
            if (bad.length > 0 && coversSsh(p.fromPort, p.toPort, p.protocol)) {
                report(`ingress rule from ${bad.join(", ")} opens SSH to the internet`);
            }
        } else if (args.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
            const bad = open([p.cidrIpv4, p.cidrIpv6].filter(Boolean));
            if (bad.length > 0 && coversSsh(p.fromPort, p.toPort, p.ipProtocol)) {
                report(`ingress rule from ${bad.join(", ")} opens SSH to the internet`);
            }
        }
    });

export const imdsv2Required = rule("imdsv2-required",
    "EC2 nodes must require IMDSv2 (metadata httpTokens = required).", "mandatory", (args, report) => {
        const p = args.props;
        if (args.type === "aws:ec2/launchTemplate:LaunchTemplate") {
            if (p.metadataOptions?.httpTokens !== "required") {
                report(`launch template metadataOptions.httpTokens is ${JSON.stringify(p.metadataOptions?.httpTokens ?? "unset")}; set "required" (IMDSv2)`);
            }
        } else if (args.type === "eks:index:ManagedNodeGroup" || args.type === "aws:eks/nodeGroup:NodeGroup") {
            // Without a launch template of ours, EKS's default one leaves IMDSv1 on.
            if (!p.launchTemplate) {
                report("node group has no launch template, so EKS's default leaves IMDSv1 enabled; use a launch template with httpTokens \"required\"");
            }
        }
    });

export const containersHaveLimitsAndReadiness = rule("containers-have-limits-and-readiness",
    "Every container has CPU and memory limits and a readiness probe.", "mandatory", (args, report) => {
        const found = containersOf(args.type, args.props);
        for (const c of found?.containers ?? []) {
            const limits = c.resources?.limits ?? {};
            const missing = ["cpu", "memory"].filter((k) => limits[k] === undefined);
            if (missing.length > 0) {
                report(`container ${c.name} has no ${missing.join(" or ")} limit (resources.limits)`);
            }
            if (!c.readinessProbe && !(found!.pod.initContainers ?? []).includes(c)) {
                report(`container ${c.name} has no readinessProbe`);
            }
        }
    });

export const noLatestImages = rule("no-latest-or-untagged-images",
    "Images are pinned to a tag other than latest, or to a digest.", "mandatory", (args, report) => {
        for (const c of containersOf(args.type, args.props)?.containers ?? []) {
            if (typeof c.image !== "string") {
                continue; // unknown during preview
            }
            const ref = parseImageReference(c.image);
            if (!ref) {
                report(`container ${c.name} uses "${c.image}", which is not a valid image reference`);
                continue;
            }
            if (!ref.digest && (ref.tag === undefined || ref.tag === "latest")) {
                report(`container ${c.name} uses image "${c.image}", which is ${ref.tag ? "the moving tag latest" : "untagged (latest)"}; pin a version tag or a digest, e.g. nginx:1.28.0`);
            }
        }
    });

function matches(selector: Props | undefined, labels: Props | undefined): boolean {
    const want = selector?.matchLabels ?? {};
    return Object.keys(want).length > 0 && Object.entries(want).every(([k, v]) => labels?.[k] === v);
}

export const prodReplicasAndPdb: StackValidationPolicy = {
    name: "prod-replicas-and-disruption-budget",
    description: "In production stacks every Deployment runs at least 2 replicas (or an autoscaler's minimum of 2) and has a PodDisruptionBudget.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: { prodStacks: { type: "array", items: { type: "string" }, default: DEFAULT_PROD_STACKS } },
    },
    validateStack: (args: StackValidationArgs, report: ReportViolation) => {
        const { prodStacks } = args.getConfig<PackConfig>();
        const deployments = args.resources.filter((r) => r.type === "kubernetes:apps/v1:Deployment");
        const production = deployments.filter((d) => (prodStacks ?? DEFAULT_PROD_STACKS).includes(stackOf(d.urn)));
        if (production.length === 0) {
            args.notApplicable("not a production stack");
        }
        const of = (type: string): PolicyResource[] => args.resources.filter((r) => r.type === type);
        for (const d of production) {
            const name = d.props.metadata?.name ?? d.name;
            const podLabels = d.props.spec?.template?.metadata?.labels;
            const hpa = of("kubernetes:autoscaling/v2:HorizontalPodAutoscaler").find((h) =>
                h.props.spec?.scaleTargetRef?.kind === "Deployment" && h.props.spec?.scaleTargetRef?.name === name);
            const replicas = hpa ? hpa.props.spec?.minReplicas ?? 1 : d.props.spec?.replicas ?? 1;
            if (typeof replicas === "number" && replicas < 2) {
                report(`Deployment ${name} runs ${replicas} replica${replicas === 1 ? "" : "s"}${hpa ? " at its autoscaler's minimum" : ""}; production needs at least 2`, d.urn);
            }
            if (!of("kubernetes:policy/v1:PodDisruptionBudget").some((b) => matches(b.props.spec?.selector, podLabels))) {
                report(`Deployment ${name} has no PodDisruptionBudget selecting its pods`, d.urn);
            }
        }
    },
};

/**
 * Whether a LoadBalancer Service's load balancer is internal, as the AWS controller that makes it decides: the AWS
 * Load Balancer Controller (type external or nlb-ip, or its loadBalancerClass) reads the scheme first and is
 * internal by default; the in-tree controller reads only the internal annotation. Other clouds' annotations are
 * not known here, so such load balancers count as internet-facing.
 */
function isInternal(p: Props): boolean {
    const a: Props = p.metadata?.annotations ?? {};
    const type = a[AWS_LB_TYPE];
    if (type === "external" || type === "nlb-ip" || p.spec?.loadBalancerClass === "service.k8s.aws/nlb") {
        return a[AWS_LB_SCHEME] !== undefined ? a[AWS_LB_SCHEME] === "internal" : a[AWS_LB_INTERNAL] !== "false";
    }
    const internal = a[AWS_LB_INTERNAL];
    return internal !== undefined && internal !== "" && internal !== "false";
}

/**
 * How an internet-facing LoadBalancer Service is open to every address, or undefined when it is not (not a load
 * balancer, internal, limited to named CIDRs, or not yet known during preview).
 */
export function openToInternet(p: Props): string | undefined {
    if (p.spec?.type !== "LoadBalancer" || isInternal(p)) {
        return undefined;
    }
    let ranges: unknown = p.spec?.loadBalancerSourceRanges;
    const annotation = p.metadata?.annotations?.[LB_SOURCE_RANGES];
    // Kubernetes reads the annotation when the field is empty.
    if ((ranges === undefined || (Array.isArray(ranges) && ranges.length === 0)) && typeof annotation === "string") {
        ranges = annotation.split(",").map((r) => r.trim()).filter(Boolean);
    }
    if (ranges !== undefined && !Array.isArray(ranges)) {
        return undefined;
    }
    if (!ranges || ranges.length === 0) {
        return "loadBalancerSourceRanges is unset";
    }
    const open = ranges.filter((r) => INTERNET.has(String(r)));
    return open.length > 0 ? `loadBalancerSourceRanges includes ${open.join(", ")}` : undefined;
}

const prodStacksSchema = {
    properties: { prodStacks: { type: "array" as const, items: { type: "string" as const }, default: DEFAULT_PROD_STACKS } },
};

/** The same check, mandatory on production stacks and advisory on the others; each stands down where the other applies. */
function loadBalancerRule(name: string, enforcementLevel: "mandatory" | "advisory", production: boolean): ResourceValidationPolicy {
    return {
        name,
        description: `${production ? "In production stacks" : "Outside production stacks"}, an internet-facing LoadBalancer Service is not open to ` +
            `every address (loadBalancerSourceRanges unset, or with 0.0.0.0/0 or ::/0) unless annotated ${ALLOW_INTERNET}: "true".`,
        enforcementLevel,
        configSchema: prodStacksSchema,
        validateResource: (args, report) => {
            if (args.type !== "kubernetes:core/v1:Service") {
                return;
            }
            const { prodStacks } = args.getConfig<PackConfig>();
            if ((prodStacks ?? DEFAULT_PROD_STACKS).includes(stackOf(args.urn)) !== production) {
                args.notApplicable(production ? "not a production stack" : "a production stack: its mandatory twin applies");
            }
            const open = openToInternet(args.props);
            if (open && args.props.metadata?.annotations?.[ALLOW_INTERNET] !== "true") {
                report(`Service ${args.props.metadata?.name ?? args.name} is an internet-facing load balancer open to every address ` +
                    `(${open}); list the clients in loadBalancer.sourceRanges, make it internal (loadBalancer.scheme internal), ` +
                    `or say it is public on purpose with loadBalancer.allowInternet true (annotation ${ALLOW_INTERNET}: "true")`);
            }
        },
    };
}

export const prodLoadBalancerNotOpen = loadBalancerRule("prod-load-balancer-not-open-to-internet", "mandatory", true);
export const loadBalancerNotOpen = loadBalancerRule("load-balancer-not-open-to-internet", "advisory", false);

/** The EKS clusters a rule reads: the eks.Cluster component's inputs, or the AWS cluster it makes (or any program's). */
const EKS_CLUSTER = "eks:index:Cluster";
const AWS_EKS_CLUSTER = "aws:eks/cluster:Cluster";

export const prodEksDeletionProtection: ResourceValidationPolicy = {
    name: "prod-eks-deletion-protection",
    description: "In production stacks, EKS clusters have deletion protection on (cluster.deletionProtection).",
    enforcementLevel: "mandatory",
    configSchema: prodStacksSchema,
    validateResource: (args, report) => {
        if (args.type !== EKS_CLUSTER && args.type !== AWS_EKS_CLUSTER) {
            return;
        }
        const { prodStacks } = args.getConfig<PackConfig>();
        if (!(prodStacks ?? DEFAULT_PROD_STACKS).includes(stackOf(args.urn))) {
            args.notApplicable("not a production stack");
        }
        if (args.props.deletionProtection !== true) {
            report(`EKS cluster ${args.name} has no deletion protection (deletionProtection is ${JSON.stringify(args.props.deletionProtection ?? "unset")}); ` +
                "a production cluster must not be deletable by one command: set cluster.deletionProtection true");
        }
    },
};

export const eksExtendedSupportOptIn = rule("eks-extended-support-opt-in",
    `EKS clusters enter extended support (upgrade policy EXTENDED, which is also EKS's default when none is given) only when tagged ${EXTENDED_SUPPORT_TAG}: "true".`,
    "mandatory", (args, report) => {
        if (args.type !== EKS_CLUSTER && args.type !== AWS_EKS_CLUSTER) {
            return;
        }
        const p = args.props;
        // Unset means EXTENDED: EKS's default for a cluster created without an upgrade policy.
        const supportType = p.upgradePolicy?.supportType ?? "EXTENDED";
        // eks.Cluster puts clusterTags (and tags) on the AWS cluster, which carries them as tags.
        const optedIn = { ...p.clusterTags, ...p.tags }[EXTENDED_SUPPORT_TAG] === "true";
        if (supportType === "EXTENDED" && !optedIn) {
            report(`EKS cluster ${args.name} may enter extended support (upgrade policy ${p.upgradePolicy?.supportType ?? "unset, which EKS takes as EXTENDED"}), ` +
                "which costs about six times the standard control-plane price per hour; set cluster.supportType STANDARD, or EXTENDED on purpose " +
                `(which tags the cluster ${EXTENDED_SUPPORT_TAG}: "true")`);
        }
    });

export const eksSecretsEncrypted = rule("eks-secrets-encrypted-with-kms",
    "EKS clusters envelope-encrypt Kubernetes secrets with a KMS key.", "advisory", (args, report) => {
        if (args.type === "eks:index:Cluster" && !args.props.encryptionConfigKeyArn) {
            report("cluster secrets are not encrypted with KMS; set cluster.secretsEncryption true (or cluster.kmsKeyArn)");
        } else if (args.type === "aws:eks/cluster:Cluster" && !(args.props.encryptionConfig?.provider?.keyArn)) {
            report("cluster secrets are not encrypted with KMS (encryptionConfig)");
        }
    });

export const eksControlPlaneLogging = rule("eks-control-plane-logging",
    "EKS clusters send at least the api and audit control-plane logs to CloudWatch.", "advisory", (args, report) => {
        if (args.type === "eks:index:Cluster" || args.type === "aws:eks/cluster:Cluster") {
            const logs: string[] = args.props.enabledClusterLogTypes ?? [];
            const missing = ["api", "audit"].filter((t) => !logs.includes(t));
            if (missing.length > 0) {
                report(`control-plane log types ${missing.join(", ")} are off; set cluster.logTypes`);
            }
        }
    });

export const nonRootContainers = rule("containers-run-as-non-root",
    "Containers run as a non-root user.", "advisory", (args, report) => {
        const found = containersOf(args.type, args.props);
        for (const c of found?.containers ?? []) {
            if (c.securityContext?.runAsNonRoot !== true && found!.pod.securityContext?.runAsNonRoot !== true) {
                report(`container ${c.name} may run as root; set security.runAsNonRoot true with an unprivileged image (e.g. nginxinc/nginx-unprivileged on 8080)`);
            }
        }
    });

export const POLICIES = [
    noSshFromInternet, imdsv2Required, containersHaveLimitsAndReadiness, noLatestImages, prodReplicasAndPdb,
    prodLoadBalancerNotOpen, prodEksDeletionProtection, eksExtendedSupportOptIn,
    eksSecretsEncrypted, eksControlPlaneLogging, nonRootContainers, loadBalancerNotOpen,
];
