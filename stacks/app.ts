/**
 * The app's settings (flat keys: `pulumi config set replicas 3`, `image httpd:2.4`, `port 8080`, ...) and how
 * they become the WebApp component's arguments. Rules between arguments are the component's own
 * (components/webAppArgs.ts: checkWebAppArgs); this file holds what each key accepts.
 */
import { z } from "zod";
import { quantityValue } from "../components/kubernetesFormats";
import { APP_NAME_ACCEPTED, WebAppArgs } from "../components/webAppArgs";
import { MAX_REFERENCE_LENGTH, parseImageReference } from "../policy/imageReference";
import { dnsLabel, flag, integer, intOrPercent, list, oneOf, seconds, settings, text } from "./keys";
import type { ServiceLoadBalancer } from "./loadBalancer";

export const SERVICE_TYPES = ["LoadBalancer", "NodePort", "ClusterIP"] as const;
export const TOPOLOGY_SPREAD = ["ScheduleAnyway", "DoNotSchedule", "Off"] as const;
export const READINESS_CHECKS = ["http", "api", "off"] as const;
/** Linux capabilities a container may add back after dropping ALL (names as Kubernetes takes them). */
export const CAPABILITIES = ["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"] as const;
/** What the official nginx and httpd images need back after drop ALL: they start as root and switch users. */
export const ROOT_CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "NET_BIND_SERVICE", "SETGID", "SETUID"];
/** User id of the non-root option, that of the nginx-unprivileged image (nginxinc/nginx-unprivileged). */
export const NON_ROOT_UID = 101;
/**
 * The image on a cluster that pulls from registries: the official nginx, pinned. A cluster whose kubeconfig lists
 * the images it holds (the embedded cluster, which reaches no registry) gets its own nginx instead.
 */
export const DEFAULT_IMAGE = "nginx:1.28.0";

const quantity = (what: string) => text("quantity", `a Kubernetes quantity for ${what}, such as 100m or 128Mi`, 32,
    (v) => quantityValue(v) !== undefined);

const cpuAndMemory = (cpu: string, memory: string) => settings({
    cpu: quantity("cpu").default(cpu).describe("CPU, in cores (250m: a quarter of one)."),
    memory: quantity("memory").default(memory).describe("Memory, in bytes (128Mi: 128 MiB)."),
}, "an object {cpu, memory}").prefault({});

/** Every app key: its schema, default and description. */
export const appKeys = {
    appName: z.string({ error: APP_NAME_ACCEPTED }).meta({ accepted: APP_NAME_ACCEPTED, format: "app-name" }).default("sample-app")
        .describe("App name: labels and selector app=<appName>; Deployment <base>-deployment, Service <base>-service, where <base> is appName without a trailing -app."),
    namespace: dnsLabel().default("default")
        .describe("Kubernetes namespace of the Deployment and Service (it must exist)."),
    replicas: integer(0, 1000).default(1)
        .describe("Pod count (pulumi config set replicas 3). On EKS it must fit the node group: see cluster."),
    image: text("image", "an image reference such as nginx:1.28.0, httpd:2.4 or registry.example.com/team/app@sha256:<64 hex>",
        MAX_REFERENCE_LENGTH, (v) => parseImageReference(v) !== undefined).optional()
        .describe(`Container image (pulumi config set image httpd:2.4); pin a tag or digest. Unset: ${DEFAULT_IMAGE}, or on a cluster ` +
            "whose kubeconfig lists the images it holds (the embedded cluster, which pulls from no registry), its nginx image."),
    port: integer(1, 65535).default(80)
        .describe("Port the Service exposes (pulumi config set port 8080)."),
    containerPort: integer(1, 65535).default(80)
        .describe("Port the container listens on, named http: the probes' port and the Service's targetPort (by name, so a rollout that changes it keeps serving)."),
    containerName: dnsLabel().default("nginx-container")
        .describe("Name of the container; the tutorial's by default. It does not follow the image, so an image swap keeps kubectl logs -c, dashboards and alerts working."),
    serviceType: oneOf(SERVICE_TYPES).default("LoadBalancer")
        .describe("Service type: LoadBalancer (a cloud load balancer; on AWS it has a hostname), NodePort or ClusterIP (for clusters without a load-balancer controller)."),
    maxSurge: intOrPercent(0).default("25%")
        .describe("RollingUpdate maxSurge: pods above replicas during a rollout."),
    maxUnavailable: intOrPercent(0).default("25%")
        .describe("RollingUpdate maxUnavailable: pods below replicas during a rollout; not 0 together with maxSurge."),
    resources: settings({
        requests: cpuAndMemory("50m", "32Mi").describe("What the scheduler reserves per pod."),
        limits: cpuAndMemory("250m", "128Mi").describe("What a pod may use at most; each request must not exceed its limit."),
    }, "an object {requests: {cpu, memory}, limits: {cpu, memory}}").prefault({})
        .describe("Container requests and limits, in Kubernetes quantities (pulumi config set --path resources.limits.cpu 500m)."),
    autoscaling: settings({
        enabled: flag("autoscaling on or off").default(false).describe("Add a HorizontalPodAutoscaler on CPU."),
        minReplicas: integer(1, 1000).default(2).describe("Fewest pods; a new Deployment starts at max(replicas, minReplicas)."),
        maxReplicas: integer(1, 1000).default(5).describe("Most pods; on EKS it must fit the node group."),
        targetCpuUtilization: integer(1, 100, "a CPU utilisation percentage, an integer from 1 to 100").default(70)
            .describe("Average CPU use, in % of the requests, that the autoscaler aims for."),
    }, "an object {enabled, minReplicas, maxReplicas, targetCpuUtilization}").prefault({})
        .describe("HorizontalPodAutoscaler on CPU (pulumi config set --path autoscaling.enabled true). While enabled it owns the pod count: pulumi up neither resets nor diffs it."),
    pdbMaxUnavailable: intOrPercent(1).default(1)
        .describe("maxUnavailable of the PodDisruptionBudget made while the app runs 2 or more replicas (replicas, or autoscaling.minReplicas). One replica gets no budget, which would block node drains."),
    topologySpread: oneOf(TOPOLOGY_SPREAD).default("ScheduleAnyway")
        .describe("Spread replicas over nodes and zones (topology.kubernetes.io/zone), maxSkew 1: ScheduleAnyway (prefer), DoNotSchedule (require) or Off. On a kubeconfig cluster DoNotSchedule spreads over nodes only, since a cluster without zone labels could then place no pod."),
    security: settings({
        runAsNonRoot: flag("run the container as a non-root user").default(false)
            .describe("Refuse to start as root; use an image made for it, such as nginxinc/nginx-unprivileged:1.28.0 on containerPort 8080."),
        runAsUser: integer(1, 2147483647, "a non-zero user id (needs runAsNonRoot: true)").optional()
            .describe(`User id with runAsNonRoot (unset: ${NON_ROOT_UID}, nginx-unprivileged's).`),
        capabilities: list(oneOf(CAPABILITIES, `each one of ${CAPABILITIES.join(", ")} (ALL and admin capabilities are refused)`),
            "a list of Linux capability names to add back after dropping ALL, such as [\"NET_BIND_SERVICE\"]").optional()
            .describe(`Capabilities added back after dropping ALL (unset: ${ROOT_CAPABILITIES.join(", ")}, what the official nginx and httpd images need to start as root and switch users; none with runAsNonRoot).`),
    }, "an object {runAsNonRoot, runAsUser, capabilities}").prefault({})
        .describe("Container security context. Always: no privilege escalation, not privileged, seccomp RuntimeDefault, capabilities drop ALL."),
    rolloutTimeout: seconds(10, 86400).default(600)
        .describe("Seconds pulumi up waits for a rollout to become ready before it fails and says why; the old pods keep serving."),
    unreachableNodeSeconds: seconds(0, 3600).default(30)
        .describe("Seconds a pod stays bound to a node that stopped answering (unreachable or not ready) before Kubernetes evicts it and its ReplicaSet starts a replacement on another node. Kubernetes' own default is 300, five minutes with one replica fewer; 30 replaces the pod about a minute after a crash (the node is first marked unreachable after about 40-50 s) and still rides out a kubelet restart."),
    readinessCheck: oneOf(READINESS_CHECKS).optional()
        .describe("What pulumi up waits for after the provider's awaits, within rolloutTimeout: api, that no pod of an earlier revision is left and the Deployment's pods are all Ready behind the Service (so that the next request is answered by the new version); http, that too and that the url answers from this machine (after a port change: the new port serves); off, neither. Unset: http where the cluster's kubeconfig says its load balancer answers on this machine (the embedded cluster with real nodes) and loadBalancer.sourceRanges is unset, else api (kwok's fake nodes serve nothing; another cluster's load balancer, or on EKS an internal or source-restricted one, may not be reachable from where pulumi runs)."),
    drainSeconds: seconds(0, 300, " (0: no drain)").default(5)
        .describe("Seconds a terminating pod keeps serving before its server is told to stop (a preStop sleep), so that kube-proxy and the load balancer stop sending it requests first. The pod's grace period is this plus 30 s."),
};

export type AppSettings = z.output<z.ZodObject<typeof appKeys>>;

/** What the app needs to know of its cluster. */
export interface AppTarget {
    kind: "eks" | "kubeconfig";
    /** Images the cluster holds, when it pulls from no registry (by name: nginx, httpd). */
    images?: Record<string, string>;
    /** Whether the cluster's load balancers answer on this machine (its kubeconfig says so: the embedded cluster's real nodes). */
    loadBalancerAnswersHere?: boolean;
}

/** The WebApp's name and arguments (but its provider, which the cluster gives) for a stack's settings. */
export function webAppArgs(app: AppSettings, lb: ServiceLoadBalancer, target: AppTarget):
    { name: string; args: Omit<WebAppArgs, "provider" | "readiness">; readiness?: { http: boolean; context?: string } } {
    const a = app.autoscaling;
    const s = app.security;
    // Over nodes and zones. A kubeconfig cluster may have no zone labels (kind, minikube), where a required zone
    // spread would leave every pod Pending (a node without the key is not eligible): there, zones only as a
    // preference, which such a cluster ignores and a zoned one (the embedded cluster's three zones) follows.
    const spreadKeys = target.kind === "eks" || app.topologySpread === "ScheduleAnyway"
        ? ["kubernetes.io/hostname", "topology.kubernetes.io/zone"] : ["kubernetes.io/hostname"];
    // Over HTTP only where the cluster says its load balancer answers here, and no source ranges may leave this machine out.
    const readiness = app.readinessCheck ?? (target.loadBalancerAnswersHere && lb.loadBalancer?.sourceRanges === undefined ? "http" : "api");
    return {
        name: app.appName,
        readiness: readiness === "off" ? undefined : { http: readiness === "http" },
        args: {
            namespace: app.namespace,
            image: app.image ?? target.images?.nginx ?? DEFAULT_IMAGE,
            replicas: app.replicas,
            containerPort: app.containerPort,
            containerName: app.containerName,
            port: app.port,
            serviceType: app.serviceType,
            loadBalancer: lb.loadBalancer,
            replaceServiceOnAnnotations: lb.replaceServiceOnAnnotations,
            maxSurge: app.maxSurge,
            maxUnavailable: app.maxUnavailable,
            resources: app.resources,
            autoscaling: a.enabled ? { minReplicas: a.minReplicas, maxReplicas: a.maxReplicas, targetCpuUtilization: a.targetCpuUtilization } : undefined,
            pdbMaxUnavailable: app.pdbMaxUnavailable,
            spreadTopologyKeys: app.topologySpread === "Off" ? [] : spreadKeys,
            spreadWhenUnsatisfiable: app.topologySpread === "Off" ? undefined : app.topologySpread,
            security: {
                runAsNonRoot: s.runAsNonRoot,
                runAsUser: s.runAsNonRoot ? s.runAsUser ?? NON_ROOT_UID : s.runAsUser,
                // An unprivileged process cannot use root's capabilities: none by default.
                capabilities: s.capabilities ?? (s.runAsNonRoot ? [] : [...ROOT_CAPABILITIES]),
            },
            rolloutTimeout: app.rolloutTimeout,
            unreachableNodeSeconds: app.unreachableNodeSeconds,
            drainSeconds: app.drainSeconds,
        },
    };
}

/** The app key a WebApp argument comes from (they share names, but the component's name). */
export function appKeyOf(arg: string): string {
    return arg === "name" ? "appName" : arg;
}
