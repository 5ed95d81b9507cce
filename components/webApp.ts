import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export type ServiceType = "LoadBalancer" | "NodePort" | "ClusterIP";

/**
 * A HorizontalPodAutoscaler on CPU. While it exists, `pulumi up` leaves the Deployment's replica count to it
 * (`ignoreChanges` on spec.replicas: with server-side apply the provider then drops the field once the
 * autoscaler owns it, and otherwise re-sends the live value, so the count is never reset).
 */
export interface AutoscalingArgs {
    minReplicas: number;
    maxReplicas: number;
    /** Average CPU utilisation (% of requests) the autoscaler aims for. */
    targetCpuUtilization: number;
}

/** The container's security context beyond the fixed hardening (no privilege escalation, seccomp, drop ALL). */
export interface ContainerSecurityArgs {
    /** Refuse to start as root; use an image made for it, e.g. nginxinc/nginx-unprivileged on 8080. */
    runAsNonRoot?: boolean;
    runAsUser?: number;
    /** Capabilities added back after dropping ALL, e.g. what nginx needs to start as root and switch users. */
    capabilities?: string[];
}

/** The load balancer of a LoadBalancer Service. Generic: the caller knows its cloud's annotations. */
export interface LoadBalancerArgs {
    /** Service annotations for the cloud's load-balancer controller (e.g. AWS's type and scheme) and for policies. */
    annotations?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Client CIDRs allowed to connect (spec.loadBalancerSourceRanges). Unset: every address, as in Kubernetes. */
    sourceRanges?: pulumi.Input<pulumi.Input<string>[]>;
}

/**
 * The arguments of a {@link WebApp}: the tutorial's Deployment and Service, with what it hard-coded
 * made configurable.
 */
export interface WebAppArgs {
    /** The Kubernetes provider of the target cluster. Every resource is created through it. */
    provider: k8s.Provider;
    /** Namespace of the Deployment and Service. Defaults to `default`. */
    namespace?: pulumi.Input<string>;
    /** Container image, e.g. `nginx:1.28.0`. */
    image: pulumi.Input<string>;
    /**
     * Name of the one container, e.g. the tutorial's `nginx-container`. Independent of the image, so that an image
     * swap keeps it: `kubectl logs -c`, dashboards and alerts key on it.
     */
    containerName: pulumi.Input<string>;
    /**
     * Desired pod count. Plain, not an Input: it decides whether a PodDisruptionBudget exists. With
     * `autoscaling`, only the count a new Deployment starts with (at least minReplicas).
     */
    replicas: number;
    /**
     * Port the container listens on, named `http`: the probes' port, and the Service's targetPort by that name, so
     * that during a rollout that changes it each pod gets traffic on its own port.
     */
    containerPort: pulumi.Input<number>;
    /** Port the Service exposes. */
    port: pulumi.Input<number>;
    /** Service type. Defaults to `LoadBalancer`. */
    serviceType?: pulumi.Input<ServiceType>;
    /** Settings of the Service's load balancer; with serviceType `LoadBalancer` only. */
    loadBalancer?: LoadBalancerArgs;
    /**
     * Service annotation keys a load-balancer controller reads only when it makes the load balancer (e.g. AWS's
     * type and scheme). Setting, changing or removing one replaces the Service, deleting it first, so that the
     * controller deletes the old load balancer and makes a new one (with a new address) instead of keeping or
     * leaking it. Unset: every change is made in place.
     */
    replaceServiceOnAnnotations?: string[];
    /** RollingUpdate maxSurge. Defaults to `25%`. */
    maxSurge?: pulumi.Input<string | number>;
    /** RollingUpdate maxUnavailable. Defaults to `25%`. */
    maxUnavailable?: pulumi.Input<string | number>;
    /** Container resource requests and limits. */
    resources: pulumi.Input<k8s.types.input.core.v1.ResourceRequirements>;
    /** Scale on CPU with a HorizontalPodAutoscaler. Unset: a fixed `replicas`. */
    autoscaling?: AutoscalingArgs;
    /**
     * maxUnavailable of the PodDisruptionBudget made while the app runs 2 or more replicas (1 replica gets
     * none: it would block every node drain). Defaults to 1.
     */
    pdbMaxUnavailable?: pulumi.Input<string | number>;
    /**
     * Node labels to spread replicas over (maxSkew 1), e.g. `kubernetes.io/hostname` and
     * `topology.kubernetes.io/zone`. Defaults to the hostname only; `[]` turns spreading off.
     */
    spreadTopologyKeys?: string[];
    /** Whether an unsatisfiable spread blocks scheduling. Defaults to `ScheduleAnyway`. */
    spreadWhenUnsatisfiable?: "ScheduleAnyway" | "DoNotSchedule";
    security?: ContainerSecurityArgs;
    /** How long `pulumi up` waits for a rollout (and the Service) before failing. Defaults to 600. */
    timeoutSeconds?: number;
    /**
     * Seconds a terminating pod keeps serving before its server is told to stop (a preStop sleep): time for the
     * endpoint removal to reach kube-proxy and load balancers, so that a rollout drops no request. 0: none.
     * Defaults to 5. The grace period is this plus 30 seconds for the server's own graceful stop.
     */
    drainSeconds?: number;
}

/** `sample-app` → `sample`, so the default app reproduces the tutorial's `sample-deployment`/`sample-service`. */
function baseName(appName: string): string {
    return appName.replace(/-app$/, "");
}

/** Seconds the server gets after its stop signal to finish the requests in flight. */
const GRACEFUL_STOP_SECONDS = 30;

/**
 * A web server on Kubernetes: a Deployment (labels and selector `app: <name>`, RollingUpdate, probes,
 * resources) and a Service selecting its pods. The component name is the app name.
 */
export class WebApp extends pulumi.ComponentResource {
    public readonly deployment: k8s.apps.v1.Deployment;
    public readonly service: k8s.core.v1.Service;
    /** Present while the app runs 2 or more replicas. */
    public readonly disruptionBudget?: k8s.policy.v1.PodDisruptionBudget;
    public readonly autoscaler?: k8s.autoscaling.v2.HorizontalPodAutoscaler;
    /** `http://<load balancer hostname or IP, node or cluster IP>:<port>`. */
    public readonly url: pulumi.Output<string>;
    public readonly deploymentName: pulumi.Output<string>;
    public readonly serviceName: pulumi.Output<string>;
    public readonly readyReplicas: pulumi.Output<number>;

    constructor(name: string, args: WebAppArgs, opts?: pulumi.ComponentResourceOptions) {
        super("eks-nginx:app:WebApp", name, {}, opts);
        if (!k8s.Provider.isInstance(args.provider)) {
            throw new Error(`WebApp ${name}: args.provider must be a kubernetes Provider; ambient kubeconfigs are not used`);
        }
        if (args.loadBalancer && typeof args.serviceType === "string" && args.serviceType !== "LoadBalancer") {
            throw new Error(`WebApp ${name}: loadBalancer settings need serviceType LoadBalancer, got ${args.serviceType}`);
        }
        const a = args.autoscaling;
        if (a && !(a.minReplicas >= 1 && a.minReplicas <= a.maxReplicas)) {
            throw new Error(`WebApp ${name}: autoscaling needs 1 ≤ minReplicas ≤ maxReplicas, got ${a.minReplicas}..${a.maxReplicas}`);
        }

        const labels = { app: name };
        // The component's dependencies (on EKS: the node group) hold for every child, so that `pulumi destroy`
        // removes the Service, and with it the cloud load balancer, before the nodes and the cluster.
        const childOpts: pulumi.CustomResourceOptions = { parent: this, provider: args.provider, dependsOn: opts?.dependsOn };
        const base = baseName(name);
        const namespace = args.namespace ?? "default";
        const timeout = `${args.timeoutSeconds ?? 600}s`;
        const security = args.security ?? {};
        const whenUnsatisfiable = args.spreadWhenUnsatisfiable ?? "ScheduleAnyway";
        const drainSeconds = args.drainSeconds ?? 5;
        if (!(Number.isInteger(drainSeconds) && drainSeconds >= 0)) {
            throw new Error(`WebApp ${name}: drainSeconds must be an integer ≥ 0, got ${drainSeconds}`);
        }

        this.deployment = new k8s.apps.v1.Deployment(`${base}-deployment`, {
            metadata: {
                name: `${base}-deployment`,
                namespace,
                labels,
                annotations: {
                    // The program is the source of truth for the fields it declares: server-side apply conflicts
                    // with other field managers (e.g. an autoscaler that owned spec.replicas) are overridden.
                    "pulumi.com/patchForce": "true",
                    // Who owns the count. Switching it is a change of its own, so that turning autoscaling off
                    // re-applies `replicas` (which ignoreChanges kept unchanged in the state meanwhile).
                    "eks-nginx/replicas-managed-by": a ? "HorizontalPodAutoscaler" : "pulumi",
                },
            },
            spec: {
                replicas: a ? Math.max(args.replicas, a.minReplicas) : args.replicas,
                selector: { matchLabels: labels },
                strategy: {
                    type: "RollingUpdate",
                    rollingUpdate: { maxSurge: args.maxSurge ?? "25%", maxUnavailable: args.maxUnavailable ?? "25%" },
                },
                template: {
                    metadata: { labels },
                    spec: {
                        terminationGracePeriodSeconds: drainSeconds + GRACEFUL_STOP_SECONDS,
                        topologySpreadConstraints: (args.spreadTopologyKeys ?? ["kubernetes.io/hostname"]).map((topologyKey) => ({
                            maxSkew: 1,
                            topologyKey,
                            whenUnsatisfiable,
                            labelSelector: { matchLabels: labels },
                        })),
                        containers: [{
                            name: args.containerName,
                            image: args.image,
                            ports: [{ name: "http", containerPort: args.containerPort, protocol: "TCP" }],
                            // The first probe runs as the container starts, often before the server listens: a short
                            // period keeps that miss from holding each new pod of a rollout back (5 s: up to 5 s per pod).
                            readinessProbe: {
                                httpGet: { path: "/", port: "http" },
                                periodSeconds: 2,
                                failureThreshold: 3,
                            },
                            livenessProbe: {
                                httpGet: { path: "/", port: "http" },
                                initialDelaySeconds: 10,
                                periodSeconds: 10,
                                failureThreshold: 3,
                            },
                            // Stays in the load balancer and kube-proxy rules while they learn that it is going.
                            lifecycle: drainSeconds > 0 ? { preStop: { sleep: { seconds: drainSeconds } } } : undefined,
                            resources: args.resources,
                            securityContext: {
                                allowPrivilegeEscalation: false,
                                privileged: false,
                                runAsNonRoot: security.runAsNonRoot ? true : undefined,
                                runAsUser: security.runAsNonRoot ? security.runAsUser : undefined,
                                capabilities: {
                                    drop: ["ALL"],
                                    add: security.capabilities?.length ? security.capabilities : undefined,
                                },
                                seccompProfile: { type: "RuntimeDefault" },
                            },
                        }],
                    },
                },
            },
        }, {
            ...childOpts,
            customTimeouts: { create: timeout, update: timeout },
            // Under an autoscaler, neither reset nor diff its count. (Leaving replicas out instead would make
            // server-side apply drop the field, and the Deployment fall back to 1 replica until the HPA acts.)
            ignoreChanges: a ? ["spec.replicas"] : undefined,
        });

        const replaceOn = args.replaceServiceOnAnnotations ?? [];
        this.service = new k8s.core.v1.Service(`${base}-service`, {
            metadata: { name: `${base}-service`, namespace, labels, annotations: args.loadBalancer?.annotations },
            spec: {
                type: args.serviceType ?? "LoadBalancer",
                selector: labels,
                ports: [{ name: "http", port: args.port, targetPort: "http", protocol: "TCP" }],
                loadBalancerSourceRanges: args.loadBalancer?.sourceRanges,
            },
        }, {
            ...childOpts,
            customTimeouts: { create: timeout, update: timeout },
            replaceOnChanges: replaceOn.length > 0 ? replaceOn.map((key) => `metadata.annotations[${JSON.stringify(key)}]`) : undefined,
            // The Service has a fixed name, and its deletion is what releases the old load balancer.
            deleteBeforeReplace: replaceOn.length > 0 ? true : undefined,
        });

        if ((a ? a.minReplicas : args.replicas) >= 2) {
            this.disruptionBudget = new k8s.policy.v1.PodDisruptionBudget(`${base}-pdb`, {
                metadata: { name: `${base}-pdb`, namespace, labels },
                spec: { maxUnavailable: args.pdbMaxUnavailable ?? 1, selector: { matchLabels: labels } },
            }, childOpts);
        }
        if (a) {
            this.autoscaler = new k8s.autoscaling.v2.HorizontalPodAutoscaler(`${base}-hpa`, {
                metadata: { name: `${base}-hpa`, namespace, labels },
                spec: {
                    scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: this.deployment.metadata.name },
                    minReplicas: a.minReplicas,
                    maxReplicas: a.maxReplicas,
                    metrics: [{
                        type: "Resource",
                        resource: { name: "cpu", target: { type: "Utilization", averageUtilization: a.targetCpuUtilization } },
                    }],
                },
            }, childOpts);
        }

        this.deploymentName = this.deployment.metadata.name;
        this.serviceName = this.service.metadata.name;
        this.readyReplicas = this.deployment.status.apply((st) => st?.readyReplicas ?? 0);
        this.url = pulumi.all([this.service.spec, this.service.status]).apply(([spec, status]) => {
            const port = spec.ports[0];
            if (spec.type === "LoadBalancer") {
                // AWS load balancers report a hostname, other implementations an IP.
                const ingress = status?.loadBalancer?.ingress?.[0];
                return `http://${ingress?.hostname || ingress?.ip || "<pending>"}:${port.port}`;
            }
            if (spec.type === "NodePort") {
                return `http://<node address>:${port.nodePort}`;
            }
            return `http://${spec.clusterIP}:${port.port}`;
        });

        this.registerOutputs({
            url: this.url,
            deploymentName: this.deploymentName,
            serviceName: this.serviceName,
            readyReplicas: this.readyReplicas,
        });
    }
}
