import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { refuseArgs } from "./argProblems";
import { checkWebAppArgs, WebAppArgs, webAppObjectNames } from "./webAppArgs";

/** The taints the node controller puts on a node it lost contact with. */
const NODE_LOST_TAINTS = ["node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready"];

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
        refuseArgs("WebApp", name, checkWebAppArgs(name, args));
        const a = args.autoscaling;

        const labels = { app: name };
        // The component's dependencies (on EKS: the node group) hold for every child, so that `pulumi destroy`
        // removes the Service, and with it the cloud load balancer, before the nodes and the cluster.
        const childOpts: pulumi.CustomResourceOptions = { parent: this, provider: args.provider, dependsOn: opts?.dependsOn };
        const names = webAppObjectNames(name);
        const namespace = args.namespace ?? "default";
        const timeout = `${args.rolloutTimeout ?? 600}s`;
        const security = args.security ?? {};
        const whenUnsatisfiable = args.spreadWhenUnsatisfiable ?? "ScheduleAnyway";
        const drainSeconds = args.drainSeconds ?? 5;

        this.deployment = new k8s.apps.v1.Deployment(names.deployment, {
            metadata: {
                name: names.deployment,
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
                        // Explicit, so that the time to move off a lost node is the stack's, not whatever the
                        // cluster's admission plugin would add.
                        tolerations: NODE_LOST_TAINTS.map((key) => ({
                            key, operator: "Exists", effect: "NoExecute", tolerationSeconds: args.unreachableNodeSeconds ?? 300,
                        })),
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
        this.service = new k8s.core.v1.Service(names.service, {
            metadata: { name: names.service, namespace, labels, annotations: args.loadBalancer?.annotations },
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
            this.disruptionBudget = new k8s.policy.v1.PodDisruptionBudget(names.disruptionBudget, {
                metadata: { name: names.disruptionBudget, namespace, labels },
                spec: { maxUnavailable: args.pdbMaxUnavailable ?? 1, selector: { matchLabels: labels } },
            }, childOpts);
        }
        if (a) {
            this.autoscaler = new k8s.autoscaling.v2.HorizontalPodAutoscaler(names.autoscaler, {
                metadata: { name: names.autoscaler, namespace, labels },
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
