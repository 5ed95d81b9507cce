/**
 * The arguments of a {@link WebApp}, the names of its objects, and the check the component runs on them. Apart
 * from the component so that the stack settings check a stack's app with the same rules.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { ArgProblem } from "./argProblems";
import { isDnsLabel, MAX_LABEL_LENGTH, quantityValue } from "./kubernetesFormats";

export type ServiceType = "LoadBalancer" | "NodePort" | "ClusterIP";

/**
 * A HorizontalPodAutoscaler on CPU. While it exists, `pulumi up` leaves the Deployment's replica count to it
 * (`ignoreChanges` on spec.replicas: with server-side apply the provider then drops the field once the
 * autoscaler owns it, and otherwise re-sends the live value, so the count is never reset).
 */
export interface AutoscalingArgs {
    minReplicas: number;
    maxReplicas: number;
    /** Average CPU utilisation (% of requests) the autoscaler aims for. */
    targetCpuUtilization: number;
}

/** The container's security context beyond the fixed hardening (no privilege escalation, seccomp, drop ALL). */
export interface ContainerSecurityArgs {
    /** Refuse to start as root; use an image made for it, e.g. nginxinc/nginx-unprivileged on 8080. */
    runAsNonRoot?: boolean;
    runAsUser?: number;
    /** Capabilities added back after dropping ALL, e.g. what nginx needs to start as root and switch users. */
    capabilities?: string[];
}

/** The load balancer of a LoadBalancer Service. Generic: the caller knows its cloud's annotations. */
export interface LoadBalancerArgs {
    /** Service annotations for the cloud's load-balancer controller (e.g. AWS's type and scheme) and for policies. */
    annotations?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Client CIDRs allowed to connect (spec.loadBalancerSourceRanges). Unset: every address, as in Kubernetes. */
    sourceRanges?: pulumi.Input<pulumi.Input<string>[]>;
}

/**
 * The app's own readiness check after the provider's awaits (components/appReadiness.ts): `pulumi up` returns only
 * when no pod of an earlier revision is left, the Deployment's pods are all Ready behind the Service, and (with
 * `http`) the url answers from this machine. It reads the API with the cluster's kubeconfig, as the provider does.
 */
export interface AppReadinessArgs {
    /** The cluster's kubeconfig (YAML or JSON; the provider's). */
    kubeconfig: pulumi.Input<string>;
    /** Its context; unset: its current-context. */
    context?: string;
    /** Also wait until the url answers over HTTP from this machine: only where this machine reaches the load balancer. */
    http: boolean;
}

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
    /**
     * Name of the one container, e.g. the tutorial's `nginx-container`. Independent of the image, so that an image
     * swap keeps it: `kubectl logs -c`, dashboards and alerts key on it.
     */
    containerName: pulumi.Input<string>;
    /**
     * Desired pod count. Plain, not an Input: it decides whether a PodDisruptionBudget exists. With
     * `autoscaling`, only the count a new Deployment starts with (at least minReplicas).
     */
    replicas: number;
    /**
     * Port the container listens on, named `http`: the probes' port, and the Service's targetPort by that name, so
     * that during a rollout that changes it each pod gets traffic on its own port.
     */
    containerPort: pulumi.Input<number>;
    /** Port the Service exposes. */
    port: pulumi.Input<number>;
    /** Service type. Defaults to `LoadBalancer`. */
    serviceType?: pulumi.Input<ServiceType>;
    /**
     * Settings of the Service's load balancer, for serviceType `LoadBalancer` (applied as given: Kubernetes keeps
     * but ignores source ranges on other types, and annotations are the controller's to read).
     */
    loadBalancer?: LoadBalancerArgs;
    /**
     * Service annotation keys a load-balancer controller reads only when it makes the load balancer (e.g. AWS's
     * type and scheme). Setting, changing or removing one replaces the Service, deleting it first, so that the
     * controller deletes the old load balancer and makes a new one (with a new address) instead of keeping or
     * leaking it. Unset: every change is made in place.
     */
    replaceServiceOnAnnotations?: string[];
    /** RollingUpdate maxSurge. Defaults to `25%`. */
    maxSurge?: pulumi.Input<string | number>;
    /** RollingUpdate maxUnavailable. Defaults to `25%`. */
    maxUnavailable?: pulumi.Input<string | number>;
    /** Container resource requests and limits. */
    resources: pulumi.Input<k8s.types.input.core.v1.ResourceRequirements>;
    /** Scale on CPU with a HorizontalPodAutoscaler. Unset: a fixed `replicas`. */
    autoscaling?: AutoscalingArgs;
    /**
     * maxUnavailable of the PodDisruptionBudget made while the app runs 2 or more replicas (1 replica gets
     * none: it would block every node drain). Defaults to 1.
     */
    pdbMaxUnavailable?: pulumi.Input<string | number>;
    /**
     * Node labels to spread replicas over (maxSkew 1), e.g. `kubernetes.io/hostname` and
     * `topology.kubernetes.io/zone`. Defaults to the hostname only; `[]` turns spreading off.
     */
    spreadTopologyKeys?: string[];
    /** Whether an unsatisfiable spread blocks scheduling. Defaults to `ScheduleAnyway`. */
    spreadWhenUnsatisfiable?: "ScheduleAnyway" | "DoNotSchedule";
    security?: ContainerSecurityArgs;
    /** Seconds `pulumi up` waits for a rollout (and the Service, and the readiness check) before failing. Defaults to 600. */
    rolloutTimeout?: number;
    /** The app's own readiness check after each `pulumi up` (not in previews). Unset: none, the provider's awaits only. */
    readiness?: AppReadinessArgs;
    /**
     * Seconds a pod stays bound to a node that is unreachable or not ready (the node controller's NoExecute taints)
     * before it is evicted and its ReplicaSet replaces it on another node. Defaults to 30: Kubernetes' own 300 leaves
     * a web app a replica short for five minutes after a node crash (the e2e suite tests/e2e/nodes.ts measures it).
     */
    unreachableNodeSeconds?: number;
    /**
     * Seconds a terminating pod keeps serving before its server is told to stop (a preStop sleep): time for the
     * endpoint removal to reach kube-proxy and load balancers, so that a rollout drops no request. 0: none.
     * Defaults to 5. The grace period is this plus 30 seconds for the server's own graceful stop.
     */
    drainSeconds?: number;
}

/** The names of a WebApp's Kubernetes objects. */
export interface WebAppObjectNames {
    deployment: string;
    service: string;
    disruptionBudget: string;
    autoscaler: string;
}

/**
 * The objects' names: `<base>-deployment`, `<base>-service`, ... where `<base>` is the app name without a
 * trailing `-app`, so the default app `sample-app` reproduces the tutorial's `sample-deployment` and
 * `sample-service`.
 */
export function webAppObjectNames(appName: string): WebAppObjectNames {
    const base = appName.replace(/-app$/, "");
    return { deployment: `${base}-deployment`, service: `${base}-service`, disruptionBudget: `${base}-pdb`, autoscaler: `${base}-hpa` };
}

/** The longest app names whose Service name still fits a DNS label. */
const MAX_APP_NAME = MAX_LABEL_LENGTH - "-service".length;
export const APP_NAME_ACCEPTED = `a DNS label (lowercase letters, digits and '-', starting with a letter) of at most ${MAX_APP_NAME} ` +
    `characters, or ${MAX_APP_NAME + "-app".length} ending in -app: the Service is named <name without -app>-service, ` +
    `which Kubernetes takes up to ${MAX_LABEL_LENGTH}`;

const isZero = (v: unknown) => v === 0 || v === "0%";

/**
 * What a WebApp cannot be built from: a name that gives Kubernetes names it refuses, an autoscaler range that is
 * empty, a rollout that can never progress, requests above their limits, a user id without runAsNonRoot. Values
 * that are Outputs are not checked.
 */
export function checkWebAppArgs(name: string, args: Omit<WebAppArgs, "provider">): ArgProblem[] {
    const problems: ArgProblem[] = [];
    const names = webAppObjectNames(name);
    if (!isDnsLabel(name) || !isDnsLabel(names.service)) {
        problems.push({ arg: "name", value: name, expected: APP_NAME_ACCEPTED });
    }
    const a = args.autoscaling;
    if (a && !(a.minReplicas >= 1 && a.minReplicas <= a.maxReplicas)) {
        problems.push({ arg: "autoscaling", value: { minReplicas: a.minReplicas, maxReplicas: a.maxReplicas }, expected: "minReplicas ≤ maxReplicas" });
    }
    if (isZero(args.maxSurge) && isZero(args.maxUnavailable)) {
        problems.push({ arg: "maxSurge", value: args.maxSurge,
            expected: "maxSurge and maxUnavailable not both 0 (a rollout could never progress)" });
    }
    const resources = args.resources as k8s.types.input.core.v1.ResourceRequirements | undefined;
    for (const resource of ["cpu", "memory"]) {
        const request = (resources?.requests as Record<string, unknown> | undefined)?.[resource];
        const limit = (resources?.limits as Record<string, unknown> | undefined)?.[resource];
        const [requested, limited] = [request, limit].map((q) => (typeof q === "string" ? quantityValue(q) : undefined));
        if (requested !== undefined && limited !== undefined && requested > limited) {
            problems.push({ arg: `resources.requests.${resource}`, value: request,
                expected: `at most the ${resource} limit (resources.limits.${resource} is ${limit}): Kubernetes refuses a request above its limit` });
        }
    }
    if (args.security?.runAsUser !== undefined && !args.security.runAsNonRoot) {
        problems.push({ arg: "security.runAsUser", value: args.security.runAsUser, expected: "unset unless security.runAsNonRoot is true" });
    }
    return problems;
}
