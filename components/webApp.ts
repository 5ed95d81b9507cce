// Each API group this uses, alone: the package's index loads all of its groups, Helm, Kustomize and YAML as it
// loads (127 modules, 41-54 ms of every run, timed on 12-01), and each group's own index loads a kind on first use.
import * as appsv1 from "@pulumi/kubernetes/apps/v1";
import * as autoscalingv2 from "@pulumi/kubernetes/autoscaling/v2";
import * as corev1 from "@pulumi/kubernetes/core/v1";
import * as policyv1 from "@pulumi/kubernetes/policy/v1";
import { Provider } from "@pulumi/kubernetes/provider";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { waitUntilServing } from "./appReadiness";
import { refuseArgs } from "./argProblems";
import { KubernetesApi, kubernetesApi } from "./kubernetesApi";
import { AppReadinessArgs, checkWebAppArgs, WebAppArgs, webAppObjectNames } from "./webAppArgs";

/** The taints the node controller puts on a node it lost contact with. */
const NODE_LOST_TAINTS = ["node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready"];

/** Seconds the server gets after its stop signal to finish the requests in flight. */
const GRACEFUL_STOP_SECONDS = 30;

/**
 * What the provider waits for after it applies the Service, instead of its built-in await: that one settles a fixed
 * 10 s after every change of the Service's Endpoints (pulumi-kubernetes 4.25, provider/pkg/await/service.go), also
 * when nothing else changes. A LoadBalancer Service is done when it has an address (AWS: the load balancer's
 * hostname, once the controller made it; Argo CD's and kstatus's rule too); the pods behind it are the readiness
 * check's to wait for (components/appReadiness.ts). Other types have nothing to wait for.
 *
 * And the port is the one asked for. The provider's await watches the Service through an informer, whose first
 * list can be older than the update it just made, and returns the first version that meets the conditions as the
 * Service's outputs. With the address alone, the version from before a port change met them: on the embedded
 * cluster (12-02), one of 14 port changes by hand recorded the old port in the state, and CI's README suite hit
 * it. The stack's url then named the old port, and the next `pulumi up` back to that port saw no change and left
 * the Service on the other one.
 */
export const WAIT_FOR = "pulumi.com/waitFor";
export const serviceWaitFor = (type: string, port: number) => JSON.stringify([
    type === "LoadBalancer" ? "jsonpath={.status.loadBalancer.ingress[0]}" : "jsonpath={.spec.clusterIP}",
    `jsonpath={.spec.ports[0].port}=${port}`,
]);

/**
 * A web server on Kubernetes: a Deployment (labels and selector `app: <name>`, RollingUpdate, probes,
 * resources) and a Service selecting its pods. The component name is the app name.
 */
export class WebApp extends pulumi.ComponentResource {
    public readonly deployment: appsv1.Deployment;
    public readonly service: corev1.Service;
    /** Present while the app runs 2 or more replicas. */
    public readonly disruptionBudget?: policyv1.PodDisruptionBudget;
    public readonly autoscaler?: autoscalingv2.HorizontalPodAutoscaler;
    /** `http://<load balancer hostname or IP, node or cluster IP>:<port>`. */
    public readonly url: pulumi.Output<string>;
    public readonly deploymentName: pulumi.Output<string>;
    public readonly serviceName: pulumi.Output<string>;
    public readonly readyReplicas: pulumi.Output<number>;

    constructor(name: string, args: WebAppArgs, opts?: pulumi.ComponentResourceOptions) {
        super("eks-nginx:app:WebApp", name, {}, opts);
        if (!Provider.isInstance(args.provider)) {
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

        this.deployment = new appsv1.Deployment(names.deployment, {
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
                            key, operator: "Exists", effect: "NoExecute", tolerationSeconds: args.unreachableNodeSeconds ?? 30,
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
                            // The first probe runs as the container starts, sometimes before the server listens; the
                            // next comes a period later, so the period is what such a miss holds a new pod back (the
                            // shortest, 1 s). Six failures in a row, 6 s without an answer, take a pod out of the Service.
                            readinessProbe: {
                                httpGet: { path: "/", port: "http" },
                                periodSeconds: 1,
                                failureThreshold: 6,
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
        const serviceType = args.serviceType ?? "LoadBalancer";
        this.service = new corev1.Service(names.service, {
            metadata: {
                name: names.service, namespace, labels,
                annotations: pulumi.all([args.loadBalancer?.annotations ?? {}, serviceType, args.port])
                    .apply(([annotations, type, port]) => ({ ...annotations, [WAIT_FOR]: serviceWaitFor(type, port) })),
            },
            spec: {
                type: serviceType,
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
            this.disruptionBudget = new policyv1.PodDisruptionBudget(names.disruptionBudget, {
                metadata: { name: names.disruptionBudget, namespace, labels },
                spec: { maxUnavailable: args.pdbMaxUnavailable ?? 1, selector: { matchLabels: labels } },
            }, childOpts);
        }
        if (a) {
            this.autoscaler = new autoscalingv2.HorizontalPodAutoscaler(names.autoscaler, {
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
        const served = args.readiness ? this.readinessCheck(name, args.readiness, { namespace, drainSeconds, timeoutSeconds: args.rolloutTimeout ?? 600 }) : undefined;
        this.url = pulumi.all([this.service.spec, this.service.status, served]).apply(([spec, status]) => {
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

    /**
     * Runs the app's readiness check (components/appReadiness.ts) once the Deployment and Service are applied, during
     * `pulumi up` only: previews change nothing to wait for, and under the unit suite's mocks there is no cluster.
     * Resolves when the app serves; a failure fails `pulumi up` with what is missing. Not secret, though it reads the
     * kubeconfig: it carries no value.
     */
    private readinessCheck(name: string, r: AppReadinessArgs, o: { namespace: pulumi.Input<string>; drainSeconds: number; timeoutSeconds: number }): pulumi.Output<void> {
        const check = pulumi.all([r.kubeconfig, o.namespace, this.deployment.metadata, this.service.metadata, this.service.spec, this.service.status])
            .apply(async ([kubeconfig, namespace, deployment, service, spec, status]) => {
                if (pulumi.runtime.isDryRun() || pulumi.runtime.getMonitor() instanceof MockMonitor) {
                    return;
                }
                const ingress = status?.loadBalancer?.ingress?.[0];
                const address = ingress?.hostname || ingress?.ip;
                let api: KubernetesApi;
                try {
                    api = kubernetesApi(kubeconfig, r.context);
                } catch (e) {
                    throw new pulumi.RunError(`WebApp ${name}: the readiness check cannot read the cluster's API: ${(e as Error).message} (readinessCheck off turns it off)`);
                }
                try {
                    // A RunError: Pulumi prints its message alone, without a stack trace.
                    await waitUntilServing(api, {
                        namespace, deployment: deployment.name, service: service.name, selector: `app=${name}`,
                        url: r.http && spec.type === "LoadBalancer" && address ? `http://${address}:${spec.ports[0].port}/` : undefined,
                        timeoutSeconds: o.timeoutSeconds, drainSeconds: o.drainSeconds,
                        log: (message) => void pulumi.log.info(message, this, undefined, true),
                    }).catch((e: Error) => {
                        throw new pulumi.RunError(`WebApp ${name}: ${e.message}`);
                    });
                } finally {
                    api.close();
                }
            });
        return pulumi.unsecret(check);
    }
}
