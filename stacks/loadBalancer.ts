/**
 * The app Service's load balancer (`pulumi config set --path loadBalancer.type nlb`): what each setting accepts,
 * when it applies, and what it means on each target. The AWS annotations are chosen here, where the target is
 * known; the WebApp component only passes them on.
 */
import type { LoadBalancerArgs } from "../components/webAppArgs";
import { ALLOW_INTERNET, AWS_LB_INTERNAL, AWS_LB_TYPE } from "../policy/annotations";
import { z } from "zod";
import { cidr, flag, list, oneOf, settings } from "./keys";
import type { ConfigProblem } from "./problems";

export const loadBalancerKeys = {
    loadBalancer: settings({
        type: oneOf(["classic", "nlb"], "one of classic (AWS's legacy default, a Classic Load Balancer) or nlb (a Network Load Balancer)")
            .default("classic")
            .describe("AWS load balancer kind (target eks): nlb sets service.beta.kubernetes.io/aws-load-balancer-type nlb, made by EKS's in-tree controller (no AWS Load Balancer Controller needed). Changing it replaces the Service and its load balancer (a new address)."),
        scheme: oneOf(["internet-facing", "internal"], "one of internet-facing or internal (in private subnets, reachable from the VPC only)")
            .default("internet-facing")
            .describe("target eks: internal sets service.beta.kubernetes.io/aws-load-balancer-internal \"true\" (private subnets). Changing it replaces the Service and its load balancer."),
        sourceRanges: list(cidr("a network CIDR such as 203.0.113.0/24 or 2001:db8::/32 (no host bits set); not 0.0.0.0/0 or ::/0: " +
            "to open the load balancer to every address, leave sourceRanges unset and set allowInternet true"), "a list of CIDRs",
        { count: 1, accepted: "at least one CIDR (leave sourceRanges unset for every address)" }).optional()
            .describe("Client CIDRs allowed to connect, IPv4 or IPv6: the Service's loadBalancerSourceRanges. Unset: every address, as Kubernetes' default."),
        allowInternet: flag("an internet-facing load balancer open to every address, on purpose").default(false)
            .describe("The internet-facing load balancer is open to every address on purpose: sets eks-nginx/allow-internet, which the policy rules on open load balancers accept. Needs sourceRanges unset and scheme internet-facing."),
    }, "an object {type, scheme, sourceRanges, allowInternet}").prefault({})
        .describe("The Service's load balancer, for serviceType LoadBalancer only (pulumi config set --path loadBalancer.type nlb)."),
};

export type LoadBalancerSettings = z.output<(typeof loadBalancerKeys)["loadBalancer"]>;

/**
 * Annotations EKS's in-tree load-balancer controller reads only when it makes a load balancer: it neither turns
 * a Classic Load Balancer into an NLB nor changes a scheme, and after such a change it looks for the wrong kind
 * of load balancer to delete (the old one is leaked).
 */
export const EKS_CREATION_ANNOTATIONS = [AWS_LB_TYPE, AWS_LB_INTERNAL];

/**
 * When the settings apply: only to a LoadBalancer Service; type and scheme only on EKS; allowInternet neither on
 * an internal load balancer nor with source ranges. `set` is the config as the user gave it (unset: {}).
 */
export function loadBalancerRules(set: Record<string, unknown>, lb: LoadBalancerSettings, serviceType: string, target: string): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    if (serviceType !== "LoadBalancer" && Object.keys(set).length > 0) {
        problems.push({ key: "loadBalancer", value: set, expected: `unset unless serviceType is LoadBalancer (serviceType is ${serviceType})` });
    }
    if (target !== "eks") {
        for (const key of ["type", "scheme"]) {
            if (set[key] !== undefined) {
                problems.push({ key: `loadBalancer.${key}`, value: set[key],
                    expected: "unset when target is kubeconfig (type and scheme become AWS load balancer annotations, for the eks target only)" });
            }
        }
    }
    if (lb.allowInternet && lb.scheme === "internal") {
        problems.push({ key: "loadBalancer.allowInternet", value: true,
            expected: "unset or false when scheme is internal (an internal load balancer is not reachable from the internet)" });
    }
    if (lb.allowInternet && lb.sourceRanges !== undefined) {
        problems.push({ key: "loadBalancer.allowInternet", value: true,
            expected: "unset or false when sourceRanges is set (the load balancer then admits those CIDRs only)" });
    }
    return problems;
}

export interface ServiceLoadBalancer {
    /** Unset when there is nothing to set (or the Service is not a LoadBalancer). */
    loadBalancer?: LoadBalancerArgs;
    /** Annotation keys whose change replaces the Service, and with it the load balancer. */
    replaceServiceOnAnnotations: string[];
}

/** The Service's annotations, source ranges and replacement keys for a stack's settings. */
export function serviceLoadBalancer(lb: LoadBalancerSettings, serviceType: string, target: string): ServiceLoadBalancer {
    const eks = target === "eks";
    // On EKS whatever the service type: leaving LoadBalancer removes an nlb annotation too, which must not
    // happen in place either.
    const replaceServiceOnAnnotations = eks ? [...EKS_CREATION_ANNOTATIONS] : [];
    if (serviceType !== "LoadBalancer") {
        return { replaceServiceOnAnnotations };
    }
    const annotations: Record<string, string> = {};
    // classic and internet-facing are AWS's defaults: no annotation, as the tutorial's Service.
    if (eks && lb.type === "nlb") {
        annotations[AWS_LB_TYPE] = "nlb";
    }
    if (eks && lb.scheme === "internal") {
        annotations[AWS_LB_INTERNAL] = "true";
    }
    if (lb.allowInternet) {
        annotations[ALLOW_INTERNET] = "true";
    }
    const hasAnnotations = Object.keys(annotations).length > 0;
    return {
        loadBalancer: hasAnnotations || lb.sourceRanges
            ? { annotations: hasAnnotations ? annotations : undefined, sourceRanges: lb.sourceRanges }
            : undefined,
        replaceServiceOnAnnotations,
    };
}
