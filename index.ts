// Entry point: reads the stage's settings, builds or binds the cluster, deploys the app on it.
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { WebApp } from "./components/webApp";
import { parseStackConfig, StackSettings } from "./stacks/config";
import { serviceLoadBalancer } from "./stacks/loadBalancer";

/** The cluster, what the app must wait for (and outlive at teardown), and the labels to spread pods over. */
interface Target {
    cluster: { provider: k8s.Provider; kubeconfig: pulumi.Output<string>; clusterName: pulumi.Output<string> };
    appDependsOn: pulumi.Resource[];
    spreadTopologyKeys: string[];
}

async function clusterFor(target: StackSettings["target"]): Promise<Target> {
    const name = `${pulumi.getProject()}-${pulumi.getStack()}`;
    if (target.kind === "kubeconfig") {
        const { KubeconfigCluster } = await import("./components/kubeconfigCluster");
        const cluster = new KubeconfigCluster(name, { kubeconfig: target.kubeconfig, context: target.context });
        return { cluster, appDependsOn: [], spreadTopologyKeys: ["kubernetes.io/hostname"] };
    }
    // Loaded only for EKS stages, so the local stage never loads @pulumi/aws, awsx or eks.
    const { EksCluster } = await import("./components/eksCluster");
    const c = target.cluster;
    const cluster = new EksCluster(name, {
        kubernetesVersion: c.kubernetesVersion,
        vpc: c.vpc,
        availabilityZones: c.availabilityZones,
        natGateways: c.natGateways,
        instanceTypes: c.instanceTypes,
        desiredSize: c.desiredSize,
        minSize: c.minSize,
        maxSize: c.maxSize,
        ssh: c.ssh,
        logTypes: c.logTypes,
        tags: c.tags,
        secretsEncryption: c.secretsEncryption,
        kmsKeyArn: c.kmsKeyArn,
        endpointPublicAccess: c.endpointPublicAccess,
        endpointPrivateAccess: c.endpointPrivateAccess,
        publicAccessCidrs: c.publicAccessCidrs,
        access: c.access,
    });
    // The app's objects are deleted before the node group: the Service's load balancer is released while
    // the cluster still runs its controller.
    return { cluster, appDependsOn: [cluster.nodeGroup], spreadTopologyKeys: ["kubernetes.io/hostname", "topology.kubernetes.io/zone"] };
}

async function main() {
    const settings = parseStackConfig(pulumi.runtime.allConfig());
    const { cluster, appDependsOn, spreadTopologyKeys } = await clusterFor(settings.target);
    const a = settings.app;
    const { loadBalancer, replaceServiceOnAnnotations } = serviceLoadBalancer(a, settings.target.kind);
    const app = new WebApp(a.name, {
        provider: cluster.provider,
        namespace: a.namespace,
        image: a.image,
        replicas: a.replicas,
        containerPort: a.containerPort,
        containerName: a.containerName,
        port: a.port,
        serviceType: a.serviceType,
        loadBalancer,
        replaceServiceOnAnnotations,
        maxSurge: a.maxSurge,
        maxUnavailable: a.maxUnavailable,
        resources: a.resources,
        autoscaling: a.autoscaling.enabled ? a.autoscaling : undefined,
        pdbMaxUnavailable: a.pdbMaxUnavailable,
        spreadTopologyKeys: a.topologySpread === "Off" ? [] : spreadTopologyKeys,
        spreadWhenUnsatisfiable: a.topologySpread === "Off" ? undefined : a.topologySpread,
        security: a.security,
        timeoutSeconds: a.rolloutTimeout,
        drainSeconds: a.drainSeconds,
    }, { dependsOn: appDependsOn });
    return {
        url: app.url,
        clusterName: cluster.clusterName,
        kubeconfig: cluster.kubeconfig,
        deploymentName: app.deploymentName,
        serviceName: app.serviceName,
        readyReplicas: app.readyReplicas,
    };
}

export = main;
