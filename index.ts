// Entry point: the stage's settings (stacks/), its cluster, and the app on that cluster (components/).
import * as pulumi from "@pulumi/pulumi";
import { WebApp } from "./components/webApp";
import { readStack } from "./stacks/stack";

export = async () => {
    const stack = readStack(pulumi.runtime.allConfig());
    const name = `${pulumi.getProject()}-${pulumi.getStack()}`;
    // Each cluster component is loaded only for its own target: the local stage never loads @pulumi/aws, awsx or eks.
    const cluster = stack.target.kind === "eks"
        ? new (await import("./components/eksCluster")).EksCluster(name, stack.target.args)
        : new (await import("./components/kubeconfigCluster")).KubeconfigCluster(name, stack.target.args);
    // The app depends on the whole cluster, so `pulumi destroy` deletes its Service (and with it the cloud load
    // balancer) while the cluster and its nodes still run.
    // Its readiness check reads the cluster's API with the provider's kubeconfig.
    const readiness = stack.app.readiness && { ...stack.app.readiness, kubeconfig: cluster.kubeconfig };
    const app = new WebApp(stack.app.name, { ...stack.app.args, provider: cluster.provider, readiness }, { dependsOn: cluster });
    return {
        url: app.url,
        clusterName: cluster.clusterName,
        kubeconfig: cluster.kubeconfig,
        deploymentName: app.deploymentName,
        serviceName: app.serviceName,
        readyReplicas: app.readyReplicas,
    };
};
