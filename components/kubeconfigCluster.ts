// The provider alone, not the package's index (components/webApp.ts says why).
import { Provider } from "@pulumi/kubernetes/provider";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";

/** The arguments of a {@link KubeconfigCluster}. */
export interface KubeconfigClusterArgs {
    /** Contents of the kubeconfig file (kind, minikube, Docker Desktop or any other cluster). */
    kubeconfig: pulumi.Input<string>;
    /** Context to use; defaults to the kubeconfig's current-context. */
    context?: string;
    /**
     * What identifies the cluster: the provider (and so every object made through it) is replaced only when this
     * changes, and updated in place when the kubeconfig changes otherwise (rotated credentials, a renamed context,
     * another form of the server's address). Unset: the provider's own guess, which replaces it whenever the
     * kubeconfig's active cluster entry changes.
     */
    clusterIdentifier?: pulumi.Input<string>;
}

/**
 * An existing cluster reached through a kubeconfig: the local stage's stand-in for {@link EksCluster}.
 * It creates no cloud resources, only a Kubernetes provider bound to that kubeconfig.
 */
export class KubeconfigCluster extends pulumi.ComponentResource {
    public readonly provider: Provider;
    public readonly kubeconfig: pulumi.Output<string>;
    /** The kube context in use. */
    public readonly clusterName: pulumi.Output<string>;

    constructor(name: string, args: KubeconfigClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("eks-nginx:cluster:KubeconfigCluster", name, {}, opts);
        this.kubeconfig = pulumi.secret(args.kubeconfig);
        this.clusterName = pulumi.output(args.kubeconfig).apply((text) => args.context ?? currentContext(text) ?? "(no current-context)");
        this.provider = new Provider(`${name}-k8s`, {
            kubeconfig: this.kubeconfig,
            context: args.context,
            clusterIdentifier: args.clusterIdentifier,
            enableServerSideApply: true,
        }, { parent: this });
        this.registerOutputs({ kubeconfig: this.kubeconfig, clusterName: this.clusterName });
    }
}

/** The kubeconfig's current-context (YAML or JSON), if it names one. */
function currentContext(text: string): string | undefined {
    try {
        const context = (parseYaml(text) as Record<string, unknown> | null)?.["current-context"];
        return typeof context === "string" && context !== "" ? context : undefined;
    } catch {
        return undefined;
    }
}
