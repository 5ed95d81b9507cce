/**
 * The EKS managed add-ons pinned per Kubernetes minor version: the versions of the VPC CNI, CoreDNS and
 * kube-proxy add-ons that `cluster.kubernetesVersion` installs. Pinned, so that a new add-on build AWS publishes
 * never reaches a cluster by itself: unpinned, eks.Cluster asks AWS for the most recent add-on version on every
 * `pulumi up` and updates the add-on (restarting aws-node and kube-proxy on every node) when there is a newer one.
 *
 * Source: the Amazon EKS User Guide's tables of the latest add-on version per Kubernetes version, as stored copies
 * gave them when Kubernetes 1.34 was the newest version on EKS (late 2025; endoflife.date lists 1.34 on EKS from 2025-10-06):
 *   - VPC CNI:    https://docs.aws.amazon.com/eks/latest/userguide/managing-vpc-cni.html  ("Amazon VPC CNI versions")
 *   - CoreDNS:    https://docs.aws.amazon.com/eks/latest/userguide/managing-coredns.html  ("CoreDNS versions")
 *   - kube-proxy: https://docs.aws.amazon.com/eks/latest/userguide/managing-kube-proxy.html  ("kube-proxy versions";
 *     its 1.32 row from the same table of docs.amazonaws.cn, whose 1.33 and 1.34 rows are the same as these)
 * A newer build of an add-on is not a reason to edit a row; a new Kubernetes version is a new row. Before adding one,
 * check each version with `aws eks describe-addon-versions --kubernetes-version <v> --addon-name <name>`.
 */
import type { ClusterAddonVersions } from "../components/eksClusterArgs";

/** Kubernetes minor version → add-on versions, oldest first; the newest row is `cluster.kubernetesVersion`'s default. */
export const ADDON_VERSIONS = {
    "1.32": { vpcCni: "v1.20.4-eksbuild.1", coreDns: "v1.11.4-eksbuild.24", kubeProxy: "v1.32.9-eksbuild.2" },
    "1.33": { vpcCni: "v1.20.4-eksbuild.1", coreDns: "v1.12.4-eksbuild.1", kubeProxy: "v1.33.5-eksbuild.2" },
    "1.34": { vpcCni: "v1.20.4-eksbuild.1", coreDns: "v1.12.4-eksbuild.1", kubeProxy: "v1.34.1-eksbuild.2" },
} as const satisfies Record<string, ClusterAddonVersions>;

export type KubernetesVersion = keyof typeof ADDON_VERSIONS;

/** The Kubernetes minor versions the table knows, oldest first. */
export const KUBERNETES_VERSIONS = Object.keys(ADDON_VERSIONS) as [KubernetesVersion, ...KubernetesVersion[]];

/** The newest version in the table: the default of `cluster.kubernetesVersion`. */
export const DEFAULT_KUBERNETES_VERSION = KUBERNETES_VERSIONS[KUBERNETES_VERSIONS.length - 1];

/** The add-on versions of a Kubernetes version of the table. */
export function addonVersionsFor(version: KubernetesVersion): ClusterAddonVersions {
    return ADDON_VERSIONS[version];
}
