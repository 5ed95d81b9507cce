/**
 * The one place that reads stack config: every key of every part (app, load balancer, the two targets), read
 * and checked, then turned into the components' arguments. A bad value stops the program with one error that
 * lists every problem (key, value, what is accepted) before anything is registered.
 *
 * Where each rule lives: what a key accepts, in its part's schema (stacks/app.ts, loadBalancer.ts, cluster.ts,
 * kubeconfig.ts); a rule between a component's arguments, in the component's check (components/*Args.ts), which
 * runs here on the arguments the settings give it; which keys apply to which target, and whether the app fits
 * the node group, here.
 */
import { z } from "zod";
import type { EksClusterArgs } from "../components/eksClusterArgs";
import { checkEksClusterArgs } from "../components/eksClusterArgs";
import type { KubeconfigClusterArgs } from "../components/kubeconfigCluster";
import { checkWebAppArgs, WebAppArgs } from "../components/webAppArgs";
import { AppSettings, appKeyOf, appKeys, webAppArgs } from "./app";
import { clusterKeyOf, clusterKeys, clusterRules, eksClusterArgs } from "./cluster";
import { decode, isOptional, oneOf } from "./keys";
import { kubeconfigKeys, KubeconfigTarget, readKubeconfig } from "./kubeconfig";
import { loadBalancerKeys, loadBalancerRules, serviceLoadBalancer } from "./loadBalancer";
import { checkCapacity } from "./podCapacity";
import { argProblems, ConfigProblem, problemsOf, StackConfigError } from "./problems";

export const PROJECT = "eks-nginx";
/** Longest config value read: far beyond any real setting, so that no value takes long to decode or check. */
const MAX_VALUE_LENGTH = 256 << 10;
export const TARGETS = ["eks", "kubeconfig"] as const;

const targetKeys = {
    target: oneOf(TARGETS).default("eks")
        .describe("Where the app runs: eks (build an EKS cluster and node group) or kubeconfig (an existing cluster, no AWS resources)."),
};

/** Every key, by part, in the order Pulumi.yaml and the configuration doc list them. */
export const PARTS = { target: targetKeys, app: appKeys, loadBalancer: loadBalancerKeys, kubeconfig: kubeconfigKeys, cluster: clusterKeys };
const ALL_KEYS = { ...targetKeys, ...appKeys, ...loadBalancerKeys, ...kubeconfigKeys, ...clusterKeys };
export const KEYS: Record<string, z.ZodType> = ALL_KEYS;

/** Every key's value, defaults applied: what tools beside the program read (the AWS check's cost plan). */
export type StackValues = z.output<z.ZodObject<typeof ALL_KEYS>>;
type Values = StackValues;

/** The cluster a stack runs on, as its component's arguments. */
export type StackTarget = { kind: "eks"; args: EksClusterArgs } | { kind: "kubeconfig"; args: KubeconfigClusterArgs };

/** A stack's settings, and its components' arguments. */
export interface StackSettings {
    settings: StackValues;
    target: StackTarget;
    /**
     * The WebApp's name and arguments; its provider is the target cluster's, and so is the kubeconfig of its readiness
     * check, run as `readiness` says (off, or with `http` true, or false: through the API only), in the stack's
     * kubeContext when one is set.
     */
    app: { name: string; args: Omit<WebAppArgs, "provider" | "readiness">; readiness?: { http: boolean; context?: string } };
}

export interface ReadOptions {
    /** Environment for the kubeconfig default ($KUBECONFIG, $HOME). */
    env?: NodeJS.ProcessEnv;
}

/**
 * Reads the full config map of a stack (keys like "eks-nginx:replicas", as `pulumi.runtime.allConfig()` gives
 * them; other namespaces such as aws: are ignored), or throws a StackConfigError listing every problem.
 */
export function readStack(all: Record<string, string>, options: ReadOptions = {}): StackSettings {
    const problems: ConfigProblem[] = [];
    const given: Record<string, unknown> = {};
    for (const [fullKey, text] of Object.entries(all)) {
        if (!fullKey.startsWith(`${PROJECT}:`)) {
            continue;
        }
        const key = fullKey.slice(PROJECT.length + 1);
        if (text.length > MAX_VALUE_LENGTH) {
            problems.push({ key, value: text, expected: `at most ${MAX_VALUE_LENGTH >> 10} KiB of text (it is ${text.length} characters)` });
        } else if (Object.hasOwn(KEYS, key)) {
            given[key] = text === "" && isOptional(KEYS[key]) ? undefined : decode(KEYS[key], text);
        } else {
            problems.push({ key, value: text, expected: `no such key; known keys: ${Object.keys(KEYS).join(", ")}` });
        }
    }
    const values: Partial<Values> = {};
    for (const [key, schema] of Object.entries(KEYS)) {
        const r = schema.safeParse(given[key]);
        if (r.success) {
            (values as Record<string, unknown>)[key] = r.data;
        } else {
            problems.push(...problemsOf(key, given[key], r.error.issues));
        }
    }
    const has = <K extends keyof Values>(...keys: K[]) => keys.every((k) => k in values);
    const v = values as Values;
    const target = v.target ?? "eks";

    let cluster: StackTarget | undefined;
    let kube: KubeconfigTarget | undefined;
    if (target === "eks") {
        for (const key of ["kubeconfig", "kubeContext"]) {
            if (given[key] !== undefined) {
                problems.push({ key, value: given[key], expected: "unset when target is eks (the cluster's own kubeconfig is used)" });
            }
        }
        if (has("cluster")) {
            const args = eksClusterArgs(v.cluster);
            problems.push(...clusterRules(v.cluster), ...argProblems(checkEksClusterArgs(args), clusterKeyOf));
            cluster = { kind: "eks", args };
        }
    } else {
        if (isSet(given.cluster)) {
            problems.push({ key: "cluster", value: given.cluster, expected: "unset when target is kubeconfig (no AWS resources are made)" });
        }
        if (has("kubeconfig", "kubeContext")) {
            kube = readKubeconfig(v, options.env ?? process.env, problems);
            cluster = kube && { kind: "kubeconfig", args: kube.args };
        }
    }

    let app: StackSettings["app"] | undefined;
    if (has(...(Object.keys(appKeys) as (keyof AppSettings)[]), "loadBalancer")) {
        problems.push(...loadBalancerRules(isSet(given.loadBalancer) ? given.loadBalancer as Record<string, unknown> : {}, v.loadBalancer, v.serviceType, target));
        app = webAppArgs(v, serviceLoadBalancer(v.loadBalancer, v.serviceType, target), { kind: target, images: kube?.images, loadBalancerAnswersHere: kube?.loadBalancerAnswersHere ?? false });
        // The readiness check reads the API as the provider does: with the stack's kubeContext, if one is set.
        if (app.readiness && kube?.args.context !== undefined) {
            app.readiness.context = kube.args.context;
        }
        problems.push(...argProblems(checkWebAppArgs(app.name, app.args), appKeyOf));
    }

    if (problems.length === 0 && target === "eks") {
        // With an autoscaler, the most it may ask for must fit.
        const scaling = v.autoscaling.enabled;
        const replicas = scaling ? v.autoscaling.maxReplicas : v.replicas;
        const capacity = checkCapacity({ replicas, maxSurge: v.maxSurge, desiredSize: v.cluster.desiredSize,
            instanceTypes: v.cluster.instanceTypes, maxPodsPerNode: v.cluster.maxPodsPerNode });
        if (capacity) {
            problems.push({ key: scaling ? "autoscaling.maxReplicas" : "replicas", value: replicas, expected: `a count that fits the node group; ${capacity}` });
        }
    }
    if (problems.length > 0) {
        throw new StackConfigError(problems);
    }
    return { settings: v, target: cluster!, app: app! };
}

/** A structured setting given with something in it (unset and `{}` leave every setting at its default). */
function isSet(value: unknown): boolean {
    return value !== undefined && !(typeof value === "object" && value !== null && Object.keys(value).length === 0);
}
