/**
 * The app Service's load balancer settings for a stack: what `loadBalancer` means on each target. The AWS
 * annotations are chosen here, where the target is known; the WebApp component only passes them on.
 */
import type { LoadBalancerArgs } from "../components/webApp";
import { ALLOW_INTERNET, AWS_LB_INTERNAL, AWS_LB_TYPE } from "../policy/annotations";
import type { AppSettings, TargetSettings } from "./config";

/**
 * Annotations EKS's in-tree load-balancer controller reads only when it makes a load balancer: it neither turns
 * a Classic Load Balancer into an NLB nor changes a scheme, and after such a change it looks for the wrong kind
 * of load balancer to delete (the old one is leaked).
 */
export const EKS_CREATION_ANNOTATIONS = [AWS_LB_TYPE, AWS_LB_INTERNAL];

export interface ServiceLoadBalancer {
    /** Unset when there is nothing to set (or the Service is not a LoadBalancer). */
    loadBalancer?: LoadBalancerArgs;
    /** Annotation keys whose change replaces the Service, and with it the load balancer. */
    replaceServiceOnAnnotations: string[];
}

export function serviceLoadBalancer(app: AppSettings, target: TargetSettings["kind"]): ServiceLoadBalancer {
    const eks = target === "eks";
    // On EKS whatever the service type: leaving LoadBalancer removes an nlb annotation too, which must not
    // happen in place either.
    const replaceServiceOnAnnotations = eks ? [...EKS_CREATION_ANNOTATIONS] : [];
    if (app.serviceType !== "LoadBalancer") {
        return { replaceServiceOnAnnotations };
    }
    const lb = app.loadBalancer;
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
