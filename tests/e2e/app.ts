/** The tutorial's app as the Kubernetes API shows it: its Deployment, Service, pods, ReplicaSets and objects. */
import { KubectlCommand } from "../../harness/kubectlCommand";

/** The app's label value (`app=sample-app`), as the tutorial's YAML has it. */
export const APP = "sample-app";

export interface AppObjects {
    deployment(): any;
    service(): any;
    appPods(): any[];
    /** The app's pods that are Ready and not being deleted. */
    readyPods(): any[];
    /** The app's ReplicaSets that want pods, as `name=image`. */
    activeReplicaSets(): string[];
    /** Objects of the app (by label) that exist now, as kind/name. */
    appObjects(kinds?: string[]): string[];
}

export function appObjectsOf({ kubectl }: Pick<KubectlCommand, "kubectl">): AppObjects {
    const appPods = (): any[] => kubectl("get", "pods", "-n", "default", "-l", `app=${APP}`).items;
    return {
        deployment: () => kubectl("get", "deployment", "sample-deployment", "-n", "default"),
        service: () => kubectl("get", "service", "sample-service", "-n", "default"),
        appPods,
        readyPods: () => appPods().filter((p) => !p.metadata.deletionTimestamp &&
            (p.status.conditions ?? []).some((c: { type: string; status: string }) => c.type === "Ready" && c.status === "True")),
        activeReplicaSets: () => kubectl("get", "replicasets", "-n", "default", "-l", `app=${APP}`).items
            .filter((r: any) => r.spec.replicas > 0).map((r: any) => `${r.metadata.name}=${r.spec.template.spec.containers[0].image}`),
        appObjects: (kinds = ["deployments", "replicasets", "pods", "services", "poddisruptionbudgets", "horizontalpodautoscalers"]) =>
            kinds.flatMap((kind) => kubectl("get", kind, "-n", "default", "-l", `app=${APP}`).items
                .map((i: { metadata: { name: string } }) => `${kind}/${i.metadata.name}`)),
    };
}
