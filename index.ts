// Entry point: reads the stage's settings, builds or binds the cluster, deploys the app on it.
import * as pulumi from "@pulumi/pulumi";
import { WebApp } from "./components/webApp";
import { parseStackConfig, StackSettings } from "./stacks/config";

async function clusterFor(target: StackSettings["target"]) {
    const name = `${pulumi.getProject()}-${pulumi.getStack()}`;
    if (target.kind === "kubeconfig") {
        const { KubeconfigCluster } = await import("./components/kubeconfigCluster");
        return new KubeconfigCluster(name, { kubeconfig: target.kubeconfig, context: target.context });
    }
    // Loaded only for EKS stages, so the local stage never loads @pulumi/aws, awsx or eks.
    const { EksCluster } = await import("./components/eksCluster");
    const c = target.cluster;
    return new EksCluster(name, {
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
    });
}

async function main() {
    const settings = parseStackConfig(pulumi.runtime.allConfig());
    const cluster = await clusterFor(settings.target);
    const app = new WebApp(settings.app.name, {
        provider: cluster.provider,
        namespace: settings.app.namespace,
        image: settings.app.image,
        replicas: settings.app.replicas,
        containerPort: settings.app.containerPort,
        port: settings.app.port,
        serviceType: settings.app.serviceType,
        maxSurge: settings.app.maxSurge,
        maxUnavailable: settings.app.maxUnavailable,
        resources: settings.app.resources,
    });
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
