import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export type ServiceType = "LoadBalancer" | "NodePort" | "ClusterIP";

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
    /** Name of the one container. Defaults to `<image's last path segment>-container`, e.g. `nginx-container`. */
    containerName?: pulumi.Input<string>;
    /** Desired pod count. */
    replicas: pulumi.Input<number>;
    /** Port the container listens on; also the Service's targetPort and the probes' port. */
    containerPort: pulumi.Input<number>;
    /** Port the Service exposes. */
    port: pulumi.Input<number>;
    /** Service type. Defaults to `LoadBalancer`. */
    serviceType?: pulumi.Input<ServiceType>;
    /** RollingUpdate maxSurge. Defaults to `25%`. */
    maxSurge?: pulumi.Input<string | number>;
    /** RollingUpdate maxUnavailable. Defaults to `25%`. */
    maxUnavailable?: pulumi.Input<string | number>;
    /** Container resource requests and limits. */
    resources: pulumi.Input<k8s.types.input.core.v1.ResourceRequirements>;
}

/** `sample-app` → `sample`, so the default app reproduces the tutorial's `sample-deployment`/`sample-service`. */
function baseName(appName: string): string {
    return appName.replace(/-app$/, "");
}

export function defaultContainerName(image: string): string {
    const repository = image.split("@")[0].replace(/:[^/:]+$/, "");
    return `${repository.split("/").pop()}-container`;
}

/**
 * A web server on Kubernetes: a Deployment (labels and selector `app: <name>`, RollingUpdate, probes,
 * resources) and a Service selecting its pods. The component name is the app name.
 */
export class WebApp extends pulumi.ComponentResource {
    public readonly deployment: k8s.apps.v1.Deployment;
    public readonly service: k8s.core.v1.Service;
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

        const labels = { app: name };
        const childOpts: pulumi.CustomResourceOptions = { parent: this, provider: args.provider };
        const base = baseName(name);
        const namespace = args.namespace ?? "default";

        this.deployment = new k8s.apps.v1.Deployment(`${base}-deployment`, {
            metadata: { name: `${base}-deployment`, namespace, labels },
            spec: {
                replicas: args.replicas,
                selector: { matchLabels: labels },
                strategy: {
                    type: "RollingUpdate",
                    rollingUpdate: { maxSurge: args.maxSurge ?? "25%", maxUnavailable: args.maxUnavailable ?? "25%" },
                },
                template: {
                    metadata: { labels },
                    spec: {
                        containers: [{
                            name: args.containerName ?? pulumi.output(args.image).apply(defaultContainerName),
                            image: args.image,
                            ports: [{ name: "http", containerPort: args.containerPort, protocol: "TCP" }],
                            readinessProbe: {
                                httpGet: { path: "/", port: "http" },
                                periodSeconds: 5,
                                failureThreshold: 3,
                            },
                            livenessProbe: {
                                httpGet: { path: "/", port: "http" },
                                initialDelaySeconds: 10,
                                periodSeconds: 10,
                                failureThreshold: 3,
                            },
                            resources: args.resources,
                        }],
                    },
                },
            },
        }, childOpts);

        this.service = new k8s.core.v1.Service(`${base}-service`, {
            metadata: { name: `${base}-service`, namespace, labels },
            spec: {
                type: args.serviceType ?? "LoadBalancer",
                selector: labels,
                ports: [{ name: "http", port: args.port, targetPort: args.containerPort, protocol: "TCP" }],
            },
        }, childOpts);

        this.deploymentName = this.deployment.metadata.name;
        this.serviceName = this.service.metadata.name;
        this.readyReplicas = this.deployment.status.apply((s) => s?.readyReplicas ?? 0);
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
