/**
 * The one place that reads stack config. It turns `pulumi config` values into a typed, validated
 * settings object, or throws one error that lists every bad key with its value and what is accepted.
 * Nothing here creates a resource, so a bad value stops the program before anything is registered.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ipaddr from "ipaddr.js";
import { parseFamiliarName } from "@swimlane/docker-reference";
import { z } from "zod";
import { checkCapacity, INSTANCE_ENI_LIMITS } from "./podCapacity";

export const PROJECT = "eks-nginx";

export const SERVICE_TYPES = ["LoadBalancer", "NodePort", "ClusterIP"] as const;
export const TARGETS = ["eks", "kubeconfig"] as const;
export const NAT_GATEWAY_STRATEGIES = ["Single", "OnePerAz"] as const;
export const LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"] as const;
export const TOPOLOGY_SPREAD = ["ScheduleAnyway", "DoNotSchedule", "Off"] as const;
/** Access levels of cluster.access, after Kubernetes' user-facing roles (cluster-admin/admin, edit, view). */
export const ACCESS_LEVELS = ["admin", "edit", "view"] as const;
export const LOAD_BALANCER_TYPES = ["classic", "nlb"] as const;
export const LOAD_BALANCER_SCHEMES = ["internet-facing", "internal"] as const;
/** Linux capabilities a container may add back after dropping ALL (names as Kubernetes takes them). */
export const CAPABILITIES = ["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"] as const;

export type ServiceType = (typeof SERVICE_TYPES)[number];
export type TopologySpread = (typeof TOPOLOGY_SPREAD)[number];
export type AccessLevel = (typeof ACCESS_LEVELS)[number];

/** Defaults of the flat keys; Pulumi.yaml's config schema states the same values (a test compares them). */
export const DEFAULTS = {
    target: "eks",
    appName: "sample-app",
    namespace: "default",
    replicas: 1,
    image: "nginx:1.28.0",
    port: 80,
    containerPort: 80,
    /** The tutorial's container name, kept whatever the image: `kubectl logs -c`, dashboards and alerts key on it. */
    containerName: "nginx-container",
    serviceType: "LoadBalancer",
    maxSurge: "25%",
    maxUnavailable: "25%",
    resources: {
        requests: { cpu: "50m", memory: "32Mi" },
        limits: { cpu: "250m", memory: "128Mi" },
    },
    autoscaling: { enabled: false, minReplicas: 2, maxReplicas: 5, targetCpuUtilization: 70 },
    pdbMaxUnavailable: "1",
    topologySpread: "ScheduleAnyway",
    /** The official nginx and httpd images start as root and switch users: they need these back after drop ALL. */
    security: { runAsNonRoot: false, capabilities: ["CHOWN", "DAC_OVERRIDE", "NET_BIND_SERVICE", "SETGID", "SETUID"] },
    rolloutTimeout: 600,
    /** Seconds a terminating pod keeps serving, so that load balancers and kube-proxy stop sending it requests first. */
    drainSeconds: 5,
    kubeconfig: "",
    kubeContext: "",
    /** Unset (`{}`) unless the target is eks; the settings' own defaults are in CLUSTER_DEFAULTS. */
    cluster: {},
    /** Unset (`{}`) unless serviceType is LoadBalancer; the settings' own defaults are in LOAD_BALANCER_DEFAULTS. */
    loadBalancer: {},
} as const;

/** classic: AWS's legacy default, as in the tutorial. Source ranges unset: every address, as Kubernetes' default. */
export const LOAD_BALANCER_DEFAULTS = {
    type: "classic",
    scheme: "internet-facing",
    allowInternet: false,
} as const;

export const CLUSTER_DEFAULTS = {
    instanceTypes: ["t2.micro"],
    desiredSize: 3,
    minSize: 1,
    maxSize: 4,
    availabilityZones: 2,
    natGateways: "Single",
    logTypes: ["api", "audit", "authenticator"],
    tags: {},
    secretsEncryption: true,
    endpointPublicAccess: true,
    endpointPrivateAccess: true,
    access: [],
} as const;

/** User id of the non-root option, that of the nginx-unprivileged image (nginxinc/nginx-unprivileged). */
export const NON_ROOT_UID = 101;

export interface ResourceSettings {
    requests: { cpu: string; memory: string };
    limits: { cpu: string; memory: string };
}

export interface AutoscalingSettings {
    enabled: boolean;
    minReplicas: number;
    maxReplicas: number;
    targetCpuUtilization: number;
}

export interface SecuritySettings {
    runAsNonRoot: boolean;
    /** Set when runAsNonRoot. */
    runAsUser?: number;
    /** Added back after dropping ALL. */
    capabilities: string[];
}

export interface LoadBalancerSettings {
    /** AWS load balancer kind (eks target): classic (a Classic Load Balancer) or nlb. */
    type: (typeof LOAD_BALANCER_TYPES)[number];
    /** eks target: internet-facing, or internal (private subnets, reachable from the VPC). */
    scheme: (typeof LOAD_BALANCER_SCHEMES)[number];
    /** Client CIDRs allowed to connect; unset: every address. */
    sourceRanges?: string[];
    /** The stack says its internet-facing load balancer is open to every address on purpose. */
    allowInternet: boolean;
}

export interface AppSettings {
    name: string;
    namespace: string;
    replicas: number;
    image: string;
    port: number;
    containerPort: number;
    containerName: string;
    serviceType: ServiceType;
    maxSurge: string | number;
    maxUnavailable: string | number;
    resources: ResourceSettings;
    autoscaling: AutoscalingSettings;
    /** PodDisruptionBudget maxUnavailable; a budget exists only while the app runs ≥ 2 replicas. */
    pdbMaxUnavailable: string | number;
    topologySpread: TopologySpread;
    security: SecuritySettings;
    /** Seconds `pulumi up` waits for a rollout before it fails. */
    rolloutTimeout: number;
    /** Seconds a terminating pod keeps serving before its server is told to stop (preStop sleep). */
    drainSeconds: number;
    /** Of a LoadBalancer Service; defaults otherwise. */
    loadBalancer: LoadBalancerSettings;
}

export interface ExistingVpcSettings {
    id: string;
    publicSubnetIds: string[];
    privateSubnetIds: string[];
}

export interface SshSettings {
    publicKey: string;
    allowedCidrs: string[];
}

/** One principal's access to the cluster: an EKS access entry with an AWS-managed access policy. */
export interface ClusterAccessSettings {
    /** ARN of an IAM role or user. */
    principalArn: string;
    access: AccessLevel;
    /** Limit the access to these namespaces; unset: the whole cluster. */
    namespaces?: string[];
}

export interface ClusterSettings {
    instanceTypes: string[];
    desiredSize: number;
    minSize: number;
    maxSize: number;
    kubernetesVersion?: string;
    vpc?: ExistingVpcSettings;
    availabilityZones: number;
    natGateways: (typeof NAT_GATEWAY_STRATEGIES)[number];
    ssh?: SshSettings;
    logTypes: string[];
    tags: Record<string, string>;
    maxPodsPerNode?: number;
    /** Envelope-encrypt Kubernetes secrets with KMS: the given key, or a new one. */
    secretsEncryption: boolean;
    kmsKeyArn?: string;
    endpointPublicAccess: boolean;
    endpointPrivateAccess: boolean;
    /** Who may reach the public endpoint; unset: EKS's default, 0.0.0.0/0. */
    publicAccessCidrs?: string[];
    /** Access for people and roles other than the creator (whose admin access EKS bootstraps). */
    access: ClusterAccessSettings[];
}

export type TargetSettings =
    | { kind: "eks"; cluster: ClusterSettings }
    | { kind: "kubeconfig"; kubeconfigPath: string; kubeconfig: string; context?: string };

export interface StackSettings {
    app: AppSettings;
    target: TargetSettings;
}

// ---- what each key accepts; the text is what an error message shows after "expected" ----

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$/;
const PERCENT_OR_INT = /^(0|[1-9][0-9]?|100)%$/;

function intIn(min: number, max: number, accepted: string) {
    return z.number({ error: accepted }).refine((v) => Number.isInteger(v) && v >= min && v <= max, { error: accepted });
}

const dnsLabel = (what: string) =>
    z.string({ error: `${what}: a DNS label (lowercase letters, digits and '-', starting with a letter, at most 63)` })
        .regex(DNS_LABEL, { error: `${what}: a DNS label (lowercase letters, digits and '-', starting with a letter, at most 63)` });

const imageAccepted = "an image reference such as nginx:1.28.0, httpd:2.4 or registry.example.com/team/app@sha256:<64 hex>";
const image = z.string({ error: imageAccepted }).refine((v) => {
    try {
        parseFamiliarName(v);
        return true;
    } catch {
        return false;
    }
}, { error: imageAccepted });

const surgeOrUnavailable = z.union([z.number(), z.string()], { error: "an integer ≥ 0 or a percentage such as 25%" })
    .refine((v) => (typeof v === "number" ? Number.isInteger(v) && v >= 0 : PERCENT_OR_INT.test(v)), {
        error: "an integer ≥ 0 or a percentage from 0% to 100% such as 25%",
    });

const quantity = (what: string) =>
    z.string({ error: `a Kubernetes quantity for ${what}, such as 100m or 128Mi` })
        .regex(QUANTITY, { error: `a Kubernetes quantity for ${what}, such as 100m or 128Mi` });

/** A strict object whose errors say what it accepts, and name the known settings on a typo. */
function settings<S extends z.ZodRawShape>(shape: S, accepted: string) {
    const known = Object.keys(shape).join(", ");
    return z.strictObject(shape, {
        error: (issue) => (issue.code === "unrecognized_keys" ? `no such setting; known settings here: ${known}` : accepted),
    });
}

const cpuAndMemory = () => settings({ cpu: quantity("cpu"), memory: quantity("memory") }, "an object {cpu, memory}");
const resources = settings({ requests: cpuAndMemory(), limits: cpuAndMemory() },
    "an object {requests: {cpu, memory}, limits: {cpu, memory}}");

function isNetworkCidr(v: string): boolean {
    try {
        const [addr, bits] = ipaddr.parseCIDR(v);
        // The address must be the network's own (no host bits), as AWS requires.
        const network = addr.kind() === "ipv4"
            ? ipaddr.IPv4.networkAddressFromCIDR(v)
            : ipaddr.IPv6.networkAddressFromCIDR(v);
        return network.toString() === addr.toString() && bits >= 0;
    } catch {
        return false;
    }
}

const cidrAccepted = "a network CIDR such as 203.0.113.0/24 (no host bits set); 0.0.0.0/0 and ::/0 are refused: SSH must not be open to the internet";
const sshCidr = z.string({ error: cidrAccepted })
    .refine((v) => isNetworkCidr(v) && !/\/0$/.test(v), { error: cidrAccepted });

const sshKeyAccepted = "an OpenSSH public key line (ssh-ed25519, ssh-rsa or ecdsa-sha2-nistp256/384/521, then base64)";
const sshPublicKey = z.string({ error: sshKeyAccepted })
    .regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}( .*)?$/, { error: sshKeyAccepted });

const bool = (what: string) => z.boolean({ error: `true or false (${what})` });

const lbCidrAccepted = "a network CIDR such as 203.0.113.0/24 or 2001:db8::/32 (no host bits set); not 0.0.0.0/0 or ::/0: " +
    "to open the load balancer to every address, leave sourceRanges unset and set allowInternet true";
const lbCidr = z.string({ error: lbCidrAccepted }).refine((v) => isNetworkCidr(v) && !/\/0$/.test(v), { error: lbCidrAccepted });

const loadBalancerSchema = settings({
    type: z.enum(LOAD_BALANCER_TYPES, {
        error: "one of classic (AWS's legacy default, a Classic Load Balancer) or nlb (a Network Load Balancer)",
    }).optional(),
    scheme: z.enum(LOAD_BALANCER_SCHEMES, { error: "one of internet-facing or internal (reachable from the VPC only)" }).optional(),
    sourceRanges: z.array(lbCidr, { error: "a list of client CIDRs, such as [\"203.0.113.0/24\"]" })
        .min(1, { error: "at least one CIDR (leave sourceRanges unset for every address)" }).optional(),
    allowInternet: bool("an internet-facing load balancer open to every address, on purpose").optional(),
}, "an object {type, scheme, sourceRanges, allowInternet}");

const autoscalingSchema = settings({
    enabled: bool("autoscaling on or off").optional(),
    minReplicas: intIn(1, 1000, "an integer from 1 to 1000").optional(),
    maxReplicas: intIn(1, 1000, "an integer from 1 to 1000").optional(),
    targetCpuUtilization: intIn(1, 100, "a CPU utilisation percentage, an integer from 1 to 100").optional(),
}, "an object {enabled, minReplicas, maxReplicas, targetCpuUtilization}");

const securitySchema = settings({
    runAsNonRoot: bool("run the container as a non-root user").optional(),
    runAsUser: intIn(1, 2147483647, "a non-zero user id (needs runAsNonRoot: true)").optional(),
    capabilities: z.array(z.enum(CAPABILITIES, { error: `each one of ${CAPABILITIES.join(", ")} (ALL and admin capabilities are refused)` }),
        { error: "a list of Linux capability names to add back after dropping ALL, such as [\"NET_BIND_SERVICE\"]" }).optional(),
}, "an object {runAsNonRoot, runAsUser, capabilities}");

const pdbAccepted = "an integer ≥ 1 or a percentage from 1% to 100% (0 would block every node drain)";
const pdbMaxUnavailable = z.union([z.number(), z.string()], { error: pdbAccepted })
    .refine((v) => (typeof v === "number" ? Number.isInteger(v) && v >= 1 : PERCENT_OR_INT.test(v) && v !== "0%"), { error: pdbAccepted });

const kmsKeyArn = z.string({ error: "a KMS key ARN such as arn:aws:kms:ap-northeast-1:123456789012:key/<key id>" })
    .regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/[A-Za-z0-9-]+$/, {
        error: "a KMS key ARN such as arn:aws:kms:ap-northeast-1:123456789012:key/<key id>",
    });

const apiCidrAccepted = "an IPv4 network CIDR such as 203.0.113.0/24 (no host bits set)";
const apiCidr = z.string({ error: apiCidrAccepted }).refine((v) => !v.includes(":") && isNetworkCidr(v), { error: apiCidrAccepted });

// An IAM role or user, in any partition, with an optional path. EKS takes no wildcards and no sts assumed-role
// sessions (a session is not a lasting identity).
const IAM_PRINCIPAL_ARN = /^arn:aws(-[a-z]+)*:iam::[0-9]{12}:(role|user)\/([\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;
const principalArnAccepted = "an IAM role or user ARN such as arn:aws:iam::123456789012:role/platform-admins or " +
    "arn:aws:iam::123456789012:user/alice (a path such as role/teams/web/deployers is allowed; no wildcards, no sts assumed-role sessions)";
const accessEntry = settings({
    principalArn: z.string({ error: principalArnAccepted }).regex(IAM_PRINCIPAL_ARN, { error: principalArnAccepted }),
    access: z.enum(ACCESS_LEVELS, {
        error: `one of ${ACCESS_LEVELS.join(", ")} (admin: the whole cluster, or admin of the listed namespaces; edit; view)`,
    }),
    namespaces: z.array(dnsLabel("namespace"), { error: "a list of namespaces, such as [\"web\"]" })
        .min(1, { error: "at least one namespace (leave namespaces unset for the whole cluster)" }).optional(),
}, "an object {principalArn, access, namespaces}");

const instanceTypeAccepted = `one of ${Object.keys(INSTANCE_ENI_LIMITS).join(", ")} (for another type, also set cluster.maxPodsPerNode)`;

const clusterSchema = settings({
    instanceTypes: z.array(z.string({ error: "an EC2 instance type name" }).regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, {
        error: "an EC2 instance type name such as t3.medium",
    }), { error: "a list of EC2 instance types, such as [\"t3.medium\"]" })
        .min(1, { error: "a list of at least one EC2 instance type" })
        .optional(),
    desiredSize: intIn(0, 450, "an integer from 0 to 450").optional(),
    minSize: intIn(0, 450, "an integer from 0 to 450").optional(),
    maxSize: intIn(1, 450, "an integer from 1 to 450").optional(),
    kubernetesVersion: z.string({ error: "a Kubernetes minor version such as 1.33" })
        .regex(/^1\.[0-9]{2}$/, { error: "a Kubernetes minor version such as 1.33" }).optional(),
    vpc: settings({
        id: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, { error: "a VPC id such as vpc-0123456789abcdef0" }),
        publicSubnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, { error: "subnet ids such as subnet-0123456789abcdef0" })).optional(),
        privateSubnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, { error: "subnet ids such as subnet-0123456789abcdef0" })).optional(),
    }, "an object {id, publicSubnetIds, privateSubnetIds}")
        .refine((v) => (v.publicSubnetIds?.length ?? 0) + (v.privateSubnetIds?.length ?? 0) >= 2, {
            error: "at least two subnet ids in publicSubnetIds and privateSubnetIds together (EKS needs two availability zones)",
        }).optional(),
    availabilityZones: intIn(2, 6, "an integer from 2 to 6").optional(),
    natGateways: z.enum(NAT_GATEWAY_STRATEGIES, { error: `one of ${NAT_GATEWAY_STRATEGIES.join(", ")}` }).optional(),
    ssh: settings({
        publicKey: sshPublicKey,
        allowedCidrs: z.array(sshCidr, { error: "a list of CIDRs" }).min(1, { error: "at least one CIDR allowed to reach port 22" }),
    }, "an object {publicKey, allowedCidrs}").optional(),
    logTypes: z.array(z.enum(LOG_TYPES, { error: `each one of ${LOG_TYPES.join(", ")}` }), { error: `a list of ${LOG_TYPES.join(", ")}` }).optional(),
    tags: z.record(z.string(), z.string({ error: "string values" }), { error: "an object of string tags" }).optional(),
    maxPodsPerNode: intIn(3, 737, "an integer from 3 to 737").optional(),
    secretsEncryption: bool("envelope-encrypt Kubernetes secrets with KMS").optional(),
    kmsKeyArn: kmsKeyArn.optional(),
    endpointPublicAccess: bool("public API endpoint").optional(),
    endpointPrivateAccess: bool("private API endpoint").optional(),
    publicAccessCidrs: z.array(apiCidr, { error: "a list of IPv4 CIDRs" }).min(1, { error: "at least one CIDR" }).optional(),
    access: z.array(accessEntry, { error: "a list of {principalArn, access, namespaces} entries" }).optional(),
}, "an object of cluster settings (see Pulumi.yaml)");

/** One bad key: where, what it was, what is accepted. */
export interface ConfigProblem {
    key: string;
    value: unknown;
    expected: string;
}

export class StackConfigError extends Error {
    constructor(readonly problems: ConfigProblem[]) {
        super(
            "Invalid stack configuration; nothing was deployed:\n" +
            problems.map((p) => `  - ${p.key} = ${show(p.value)}: expected ${p.expected}`).join("\n"),
        );
        this.name = "StackConfigError";
    }
}

function show(value: unknown): string {
    return value === undefined ? "(unset)" : JSON.stringify(value);
}

export const FLAT_KEYS = ["target", "appName", "namespace", "replicas", "image", "port", "containerPort", "containerName", "serviceType",
    "maxSurge", "maxUnavailable", "resources", "autoscaling", "pdbMaxUnavailable", "topologySpread", "security",
    "rolloutTimeout", "drainSeconds", "kubeconfig", "kubeContext", "cluster", "loadBalancer"] as const;

/** Integer flat keys arrive as strings ("3"); anything else stays a string and fails the number check. */
function parseIntLike(raw: string): number | string {
    return /^[+-]?[0-9]+$/.test(raw.trim()) ? Number(raw) : raw;
}

/** Objects, lists and sizes come as JSON; "25%" stays a string, "1" becomes 1. */
function parseJsonLike(raw: string): unknown {
    try {
        return JSON.parse(raw);
    } catch {
        return raw;
    }
}

function valueAt(root: unknown, keyPath: PropertyKey[]): unknown {
    let v: unknown = root;
    for (const k of keyPath) {
        if (v === null || typeof v !== "object") {
            return undefined;
        }
        v = (v as Record<PropertyKey, unknown>)[k];
    }
    return v;
}

function keyName(key: string, keyPath: PropertyKey[]): string {
    return [key, ...keyPath.map(String)].join(".");
}

export interface LoadOptions {
    /** Environment used for the kubeconfig default ($KUBECONFIG, $HOME). */
    env?: NodeJS.ProcessEnv;
}

/**
 * Validates the full config map of a stack (keys like "eks-nginx:replicas", as `pulumi.runtime.allConfig()`
 * returns them; other namespaces such as aws: are ignored).
 */
export function parseStackConfig(all: Record<string, string>, options: LoadOptions = {}): StackSettings {
    const problems: ConfigProblem[] = [];
    const raw: Record<string, string> = {};
    const prefix = `${PROJECT}:`;
    for (const [fullKey, value] of Object.entries(all)) {
        if (!fullKey.startsWith(prefix)) {
            continue;
        }
        const key = fullKey.slice(prefix.length);
        if (!(FLAT_KEYS as readonly string[]).includes(key)) {
            problems.push({ key, value, expected: `no such key; known keys: ${FLAT_KEYS.join(", ")}` });
            continue;
        }
        raw[key] = value;
    }

    function check<T>(key: string, schema: z.ZodType<T>, value: unknown, fallback: T): T {
        if (value === undefined) {
            return fallback;
        }
        const result = schema.safeParse(value);
        if (result.success) {
            return result.data;
        }
        for (const issue of result.error.issues) {
            // Typos in structured config name the unknown setting itself.
            const paths = issue.code === "unrecognized_keys" ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
            for (const p of paths) {
                problems.push({ key: keyName(key, p), value: p.length ? valueAt(value, p) : value, expected: issue.message });
            }
        }
        return fallback;
    }

    const target = check("target", z.enum(TARGETS, { error: `one of ${TARGETS.join(", ")}` }), raw.target, DEFAULTS.target);
    const replicas = check("replicas", intIn(0, 1000, "an integer from 0 to 1000"), maybe(raw.replicas, parseIntLike), DEFAULTS.replicas);
    const app: AppSettings = {
        name: check("appName", dnsLabel("appName"), raw.appName, DEFAULTS.appName),
        namespace: check("namespace", dnsLabel("namespace"), raw.namespace, DEFAULTS.namespace),
        replicas,
        image: check("image", image, raw.image, DEFAULTS.image),
        port: check("port", intIn(1, 65535, "an integer from 1 to 65535"), maybe(raw.port, parseIntLike), DEFAULTS.port),
        containerPort: check("containerPort", intIn(1, 65535, "an integer from 1 to 65535"),
            maybe(raw.containerPort, parseIntLike), DEFAULTS.containerPort),
        containerName: check("containerName", dnsLabel("containerName"), raw.containerName, DEFAULTS.containerName),
        serviceType: check("serviceType", z.enum(SERVICE_TYPES, { error: `one of ${SERVICE_TYPES.join(", ")}` }),
            raw.serviceType, DEFAULTS.serviceType),
        maxSurge: check("maxSurge", surgeOrUnavailable, maybe(raw.maxSurge, parseJsonLike), DEFAULTS.maxSurge),
        maxUnavailable: check("maxUnavailable", surgeOrUnavailable, maybe(raw.maxUnavailable, parseJsonLike),
            DEFAULTS.maxUnavailable),
        resources: check("resources", resources, maybe(raw.resources, parseJsonLike), DEFAULTS.resources),
        autoscaling: readAutoscaling(check("autoscaling", autoscalingSchema, maybe(raw.autoscaling, parseJsonLike), {}), problems),
        pdbMaxUnavailable: check("pdbMaxUnavailable", pdbMaxUnavailable, maybe(raw.pdbMaxUnavailable, parseJsonLike),
            Number(DEFAULTS.pdbMaxUnavailable)),
        topologySpread: check("topologySpread", z.enum(TOPOLOGY_SPREAD, { error: `one of ${TOPOLOGY_SPREAD.join(", ")}` }),
            raw.topologySpread, DEFAULTS.topologySpread),
        security: readSecurity(check("security", securitySchema, maybe(raw.security, parseJsonLike), {}), problems),
        rolloutTimeout: check("rolloutTimeout", intIn(10, 86400, "a number of seconds from 10 to 86400"),
            maybe(raw.rolloutTimeout, parseIntLike), DEFAULTS.rolloutTimeout),
        drainSeconds: check("drainSeconds", intIn(0, 300, "a number of seconds from 0 to 300 (0: no drain)"),
            maybe(raw.drainSeconds, parseIntLike), DEFAULTS.drainSeconds),
        loadBalancer: readLoadBalancer(check("loadBalancer", loadBalancerSchema, maybe(raw.loadBalancer, parseJsonLike), {}),
            target, problems),
    };
    // The project default is {}: only real settings are out of place on other service types.
    if (app.serviceType !== "LoadBalancer" && raw.loadBalancer !== undefined && raw.loadBalancer.trim() !== "{}") {
        problems.push({ key: "loadBalancer", value: parseJsonLike(raw.loadBalancer),
            expected: `unset unless serviceType is LoadBalancer (serviceType is ${app.serviceType})` });
    }
    if (isZero(app.maxSurge) && isZero(app.maxUnavailable)) {
        problems.push({
            key: "maxSurge",
            value: app.maxSurge,
            expected: "maxSurge and maxUnavailable not both 0 (a rollout could never progress)",
        });
    }

    let targetSettings: TargetSettings | undefined;
    if (target === "eks") {
        for (const key of ["kubeconfig", "kubeContext"] as const) {
            if (raw[key] !== undefined && raw[key] !== "") {
                problems.push({ key, value: raw[key], expected: "unset when target is eks (the cluster's own kubeconfig is used)" });
            }
        }
        const c = check("cluster", clusterSchema, maybe(raw.cluster, parseJsonLike), {});
        const cluster: ClusterSettings = {
            instanceTypes: c.instanceTypes ?? [...CLUSTER_DEFAULTS.instanceTypes],
            desiredSize: c.desiredSize ?? CLUSTER_DEFAULTS.desiredSize,
            minSize: c.minSize ?? CLUSTER_DEFAULTS.minSize,
            maxSize: c.maxSize ?? CLUSTER_DEFAULTS.maxSize,
            kubernetesVersion: c.kubernetesVersion,
            vpc: c.vpc && {
                id: c.vpc.id,
                publicSubnetIds: c.vpc.publicSubnetIds ?? [],
                privateSubnetIds: c.vpc.privateSubnetIds ?? [],
            },
            availabilityZones: c.availabilityZones ?? CLUSTER_DEFAULTS.availabilityZones,
            natGateways: c.natGateways ?? CLUSTER_DEFAULTS.natGateways,
            ssh: c.ssh,
            logTypes: c.logTypes ?? [...CLUSTER_DEFAULTS.logTypes],
            tags: c.tags ?? {},
            maxPodsPerNode: c.maxPodsPerNode,
            secretsEncryption: c.secretsEncryption ?? CLUSTER_DEFAULTS.secretsEncryption,
            kmsKeyArn: c.kmsKeyArn,
            endpointPublicAccess: c.endpointPublicAccess ?? CLUSTER_DEFAULTS.endpointPublicAccess,
            endpointPrivateAccess: c.endpointPrivateAccess ?? CLUSTER_DEFAULTS.endpointPrivateAccess,
            publicAccessCidrs: c.publicAccessCidrs,
            access: c.access ?? [...CLUSTER_DEFAULTS.access],
        };
        checkCluster(cluster, problems);
        if (problems.length === 0) {
            const capacity = checkCapacity({
                // With an autoscaler, the most it may ask for must fit.
                replicas: app.autoscaling.enabled ? app.autoscaling.maxReplicas : app.replicas,
                maxSurge: app.maxSurge,
                desiredSize: cluster.desiredSize,
                instanceTypes: cluster.instanceTypes,
                maxPodsPerNode: cluster.maxPodsPerNode,
            });
            if (capacity) {
                problems.push(app.autoscaling.enabled
                    ? { key: "autoscaling.maxReplicas", value: app.autoscaling.maxReplicas, expected: `a count that fits the node group; ${capacity}` }
                    : { key: "replicas", value: app.replicas, expected: `a count that fits the node group; ${capacity}` });
            }
        }
        targetSettings = { kind: "eks", cluster };
    } else {
        // The project default is {}: only real settings are out of place here.
        if (raw.cluster !== undefined && raw.cluster.trim() !== "{}") {
            problems.push({ key: "cluster", value: parseJsonLike(raw.cluster), expected: "unset when target is kubeconfig (no AWS resources are made)" });
        }
        targetSettings = readKubeconfig(raw.kubeconfig ?? "", raw.kubeContext ?? "", options.env ?? process.env, problems);
    }

    if (problems.length > 0) {
        throw new StackConfigError(problems);
    }
    return { app, target: targetSettings! };
}

function maybe<T>(raw: string | undefined, parse: (s: string) => T): T | undefined {
    return raw === undefined ? undefined : parse(raw);
}

function isZero(v: string | number): boolean {
    return v === 0 || v === "0%";
}

function readAutoscaling(a: z.infer<typeof autoscalingSchema>, problems: ConfigProblem[]): AutoscalingSettings {
    const d = DEFAULTS.autoscaling;
    const result = {
        enabled: a.enabled ?? d.enabled,
        minReplicas: a.minReplicas ?? d.minReplicas,
        maxReplicas: a.maxReplicas ?? d.maxReplicas,
        targetCpuUtilization: a.targetCpuUtilization ?? d.targetCpuUtilization,
    };
    if (result.minReplicas > result.maxReplicas) {
        problems.push({ key: "autoscaling", value: { minReplicas: result.minReplicas, maxReplicas: result.maxReplicas },
            expected: "minReplicas ≤ maxReplicas" });
    }
    return result;
}

function readSecurity(s: z.infer<typeof securitySchema>, problems: ConfigProblem[]): SecuritySettings {
    const runAsNonRoot = s.runAsNonRoot ?? DEFAULTS.security.runAsNonRoot;
    if (s.runAsUser !== undefined && !runAsNonRoot) {
        problems.push({ key: "security.runAsUser", value: s.runAsUser, expected: "unset unless security.runAsNonRoot is true" });
    }
    return {
        runAsNonRoot,
        runAsUser: runAsNonRoot ? s.runAsUser ?? NON_ROOT_UID : undefined,
        // An unprivileged process cannot use root's capabilities: none by default.
        capabilities: s.capabilities ?? (runAsNonRoot ? [] : [...DEFAULTS.security.capabilities]),
    };
}

function readLoadBalancer(lb: z.infer<typeof loadBalancerSchema>, target: string, problems: ConfigProblem[]): LoadBalancerSettings {
    const d = LOAD_BALANCER_DEFAULTS;
    const result: LoadBalancerSettings = {
        type: lb.type ?? d.type,
        scheme: lb.scheme ?? d.scheme,
        sourceRanges: lb.sourceRanges,
        allowInternet: lb.allowInternet ?? d.allowInternet,
    };
    if (target !== "eks") {
        for (const key of ["type", "scheme"] as const) {
            if (lb[key] !== undefined) {
                problems.push({ key: `loadBalancer.${key}`, value: lb[key],
                    expected: "unset when target is kubeconfig (type and scheme become AWS load balancer annotations, for the eks target only)" });
            }
        }
    }
    if (result.allowInternet && result.scheme === "internal") {
        problems.push({ key: "loadBalancer.allowInternet", value: true,
            expected: "unset or false when scheme is internal (an internal load balancer is not reachable from the internet)" });
    }
    if (result.allowInternet && result.sourceRanges !== undefined) {
        problems.push({ key: "loadBalancer.allowInternet", value: true,
            expected: "unset or false when sourceRanges is set (the load balancer then admits those CIDRs only)" });
    }
    return result;
}

function checkCluster(c: ClusterSettings, problems: ConfigProblem[]): void {
    if (!c.endpointPublicAccess && !c.endpointPrivateAccess) {
        problems.push({ key: "cluster", value: { endpointPublicAccess: false, endpointPrivateAccess: false },
            expected: "endpointPublicAccess or endpointPrivateAccess true (the API must be reachable)" });
    }
    if (!c.endpointPublicAccess && c.publicAccessCidrs !== undefined) {
        problems.push({ key: "cluster.publicAccessCidrs", value: c.publicAccessCidrs, expected: "unset when endpointPublicAccess is false" });
    }
    if (c.kmsKeyArn !== undefined && !c.secretsEncryption) {
        problems.push({ key: "cluster.kmsKeyArn", value: c.kmsKeyArn, expected: "unset when secretsEncryption is false" });
    }
    if (c.minSize > c.desiredSize || c.desiredSize > c.maxSize) {
        problems.push({
            key: "cluster",
            value: { minSize: c.minSize, desiredSize: c.desiredSize, maxSize: c.maxSize },
            expected: "minSize ≤ desiredSize ≤ maxSize",
        });
    }
    const principals = new Map<string, number>();
    c.access.forEach((a, i) => {
        // IAM names are unique regardless of case, so Role/Admins and role/admins are one principal.
        const id = a.principalArn.toLowerCase();
        const first = principals.get(id);
        if (first !== undefined) {
            problems.push({ key: `cluster.access.${i}.principalArn`, value: a.principalArn,
                expected: `a principal listed once (it is already cluster.access.${first}; EKS allows one access entry per principal)` });
        }
        principals.set(id, first ?? i);
        const namespaces = a.namespaces ?? [];
        if (new Set(namespaces).size !== namespaces.length) {
            problems.push({ key: `cluster.access.${i}.namespaces`, value: namespaces, expected: "each namespace listed once" });
        }
    });
    if (c.maxPodsPerNode === undefined) {
        c.instanceTypes.forEach((type, i) => {
            if (!(type in INSTANCE_ENI_LIMITS)) {
                problems.push({ key: `cluster.instanceTypes.${i}`, value: type, expected: instanceTypeAccepted });
            }
        });
    }
}

function readKubeconfig(configured: string, context: string, env: NodeJS.ProcessEnv, problems: ConfigProblem[]): TargetSettings | undefined {
    const fromEnv = env.KUBECONFIG ?? "";
    if (configured === "" && fromEnv.includes(path.delimiter)) {
        problems.push({ key: "kubeconfig", value: fromEnv, expected: "one kubeconfig file: set kubeconfig, since $KUBECONFIG lists several" });
        return undefined;
    }
    const file = configured !== "" ? configured : fromEnv !== "" ? fromEnv : path.join(env.HOME ?? os.homedir(), ".kube", "config");
    const resolved = file.startsWith("~/") ? path.join(env.HOME ?? os.homedir(), file.slice(2)) : path.resolve(file);
    let contents: string;
    try {
        contents = fs.readFileSync(resolved, "utf8");
    } catch (e) {
        problems.push({
            key: "kubeconfig",
            value: configured === "" ? `(default) ${resolved}` : configured,
            expected: `a readable kubeconfig file (${(e as NodeJS.ErrnoException).code ?? "unreadable"}); ` +
                "set it with `pulumi config set kubeconfig <path>` or $KUBECONFIG",
        });
        return undefined;
    }
    return { kind: "kubeconfig", kubeconfigPath: resolved, kubeconfig: contents, context: context === "" ? undefined : context };
}
