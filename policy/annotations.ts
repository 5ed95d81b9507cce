/**
 * Service annotations and AWS tags that the program sets and the policy rules read, in one place so that both use
 * the same names. Part of the pack, which needs nothing from the program.
 */

/** In-tree AWS load-balancer controller: `nlb` makes a Network Load Balancer; unset, a Classic one. */
export const AWS_LB_TYPE = "service.beta.kubernetes.io/aws-load-balancer-type";
/** In-tree AWS controller: any value but `false` makes the load balancer internal (private subnets). */
export const AWS_LB_INTERNAL = "service.beta.kubernetes.io/aws-load-balancer-internal";
/** AWS Load Balancer Controller only: `internal` (its default) or `internet-facing`; the in-tree one ignores it. */
export const AWS_LB_SCHEME = "service.beta.kubernetes.io/aws-load-balancer-scheme";
/** Kubernetes' older, comma-separated form of spec.loadBalancerSourceRanges, read when the field is empty. */
export const LB_SOURCE_RANGES = "service.beta.kubernetes.io/load-balancer-source-ranges";
/** The stack's explicit statement that its internet-facing load balancer is open to every address on purpose. */
export const ALLOW_INTERNET = "eks-nginx/allow-internet";
/**
 * AWS tag on an EKS cluster: "true" is the stack's explicit statement that the cluster may enter EKS extended
 * support (its upgrade policy EXTENDED), which costs about six times the standard control-plane price per hour.
 */
export const EXTENDED_SUPPORT_TAG = "eks-nginx/extended-support";
