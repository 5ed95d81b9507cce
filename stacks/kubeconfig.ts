/**
 * The kubeconfig target's settings (`kubeconfig`, `kubeContext`) and the file they name. The file is read and
 * checked here, before anything is registered: the Kubernetes provider treats an empty kubeconfig as none and
 * falls back to $KUBECONFIG or ~/.kube/config, a cluster the stack did not name; so the file must hold a
 * kubeconfig whose context exists and names a cluster with a server.
 */
import { X509Certificate } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { KubeconfigClusterArgs } from "../components/kubeconfigCluster";
import { text } from "./keys";
import type { ConfigProblem } from "./problems";

/** Kubeconfig files larger than this are refused unread (a kubeconfig with hundreds of clusters is far smaller). */
const MAX_KUBECONFIG_BYTES = 4 << 20;
/**
 * The kubeconfig extension (on a cluster entry) by which a cluster lists the images it holds, when it pulls from
 * no registry: `{nginx: <image>, httpd: <image>}`. The embedded cluster writes it (cluster/lib.sh).
 */
export const IMAGES_EXTENSION = "eks-nginx/images";
/**
 * The kubeconfig extension by which a cluster says that its load balancers' addresses answer on the machine that
 * holds the kubeconfig (`{answers: this-machine}`): the embedded cluster with real nodes writes it (cluster/lib.sh).
 */
export const LOAD_BALANCER_EXTENSION = "eks-nginx/load-balancer";

export const kubeconfigKeys = {
    kubeconfig: z.string({ error: "a path" }).meta({ accepted: "the path of a kubeconfig file", format: "path" }).optional()
        .describe("target kubeconfig only: path of the kubeconfig file. Unset: $KUBECONFIG, then ~/.kube/config."),
    kubeContext: z.string({ error: "a context name" }).meta({ accepted: "a context of the kubeconfig", format: "context" }).optional()
        .describe("target kubeconfig only: context to use. Unset: the kubeconfig's current-context."),
    clusterIdentifier: text("cluster-identifier", "a name for the cluster of at most 253 characters", 253, (v) => v.trim() !== "").optional()
        .describe("target kubeconfig only: what identifies the cluster to the Kubernetes provider, which is replaced (and with it every object of the app) only when this changes, and updated in place when the kubeconfig changes otherwise (rotated credentials, another context name or server address). Unset: the fingerprint of the cluster's CA certificate in the kubeconfig (a new cluster has a new CA), or its server URL when the kubeconfig names no CA."),
};

export type KubeconfigSettings = z.output<z.ZodObject<typeof kubeconfigKeys>>;

/** The cluster a kubeconfig target names: the component's arguments, and what the app needs to know of it. */
export interface KubeconfigTarget {
    args: KubeconfigClusterArgs;
    /** Images the cluster lists in its kubeconfig (it pulls from no registry), by name. */
    images?: Record<string, string>;
    /** Whether the cluster says (in its kubeconfig) that its load balancers answer on this machine. */
    loadBalancerAnswersHere: boolean;
}

/**
 * Reads and checks the kubeconfig the settings name (`kubeconfig`, else $KUBECONFIG, else ~/.kube/config);
 * adds what is wrong to `problems`.
 */
export function readKubeconfig(settings: KubeconfigSettings, env: NodeJS.ProcessEnv, problems: ConfigProblem[]): KubeconfigTarget | undefined {
    // An empty value is an unset one, as `pulumi config set kubeContext ""` leaves it.
    const s = { kubeconfig: settings.kubeconfig || undefined, kubeContext: settings.kubeContext || undefined,
        clusterIdentifier: settings.clusterIdentifier || undefined };
    const configured = s.kubeconfig ?? "";
    const fromEnv = env.KUBECONFIG ?? "";
    if (configured === "" && fromEnv.includes(path.delimiter)) {
        problems.push({ key: "kubeconfig", value: fromEnv, expected: "one kubeconfig file: set kubeconfig, since $KUBECONFIG lists several" });
        return undefined;
    }
    const home = env.HOME ?? os.homedir();
    const file = configured !== "" ? configured : fromEnv !== "" ? fromEnv : path.join(home, ".kube", "config");
    const resolved = file.startsWith("~/") ? path.join(home, file.slice(2)) : path.resolve(file);
    const shown = configured === "" ? `(default) ${resolved}` : configured;
    const refuse = (key: string, value: unknown, expected: string) => {
        problems.push({ key, value, expected });
        return undefined;
    };
    let contents: string;
    try {
        const stat = fs.statSync(resolved);
        if (!stat.isFile() || stat.size > MAX_KUBECONFIG_BYTES) {
            return refuse("kubeconfig", shown, `a kubeconfig file of at most ${MAX_KUBECONFIG_BYTES >> 20} MiB (${stat.isFile() ? `${stat.size} bytes` : "not a file"})`);
        }
        contents = fs.readFileSync(resolved, "utf8");
    } catch (e) {
        return refuse("kubeconfig", shown, `a readable kubeconfig file (${(e as NodeJS.ErrnoException).code ?? "unreadable"}); ` +
            "set it with `pulumi config set kubeconfig <path>` or $KUBECONFIG");
    }
    if (contents.trim() === "") {
        return refuse("kubeconfig", shown, "a kubeconfig file, not an empty one (the Kubernetes provider would take an empty kubeconfig " +
            "as none and fall back to $KUBECONFIG or ~/.kube/config)");
    }
    const config = parseKubeconfig(contents);
    if (!config) {
        return refuse("kubeconfig", shown, "a kubeconfig file (YAML or JSON with clusters and contexts)");
    }
    const contextName = s.kubeContext ?? config.currentContext;
    if (contextName === undefined) {
        return refuse("kubeContext", s.kubeContext, `a context of the kubeconfig, since it has no current-context: one of ${[...config.contexts.keys()].join(", ")}`);
    }
    const context = config.contexts.get(contextName);
    if (!context) {
        return refuse(s.kubeContext === undefined ? "kubeconfig" : "kubeContext", s.kubeContext ?? shown,
            `${s.kubeContext === undefined ? `a kubeconfig whose current-context ${contextName} exists` : "a context of the kubeconfig"}: ` +
            `one of ${[...config.contexts.keys()].join(", ") || "(none)"}`);
    }
    const cluster = config.clusters.get(context.cluster);
    if (typeof cluster?.server !== "string" || cluster.server === "") {
        return refuse(s.kubeContext === undefined ? "kubeconfig" : "kubeContext", s.kubeContext ?? shown,
            `a context whose cluster has a server (context ${contextName} names cluster ${context.cluster}, which ${cluster ? "has no server" : "the file does not have"})`);
    }
    const clusterIdentifier = s.clusterIdentifier ?? identify(cluster, path.dirname(resolved));
    if (clusterIdentifier === undefined) {
        return refuse("kubeconfig", shown, `a kubeconfig whose cluster ${context.cluster} has a readable CA certificate, ` +
            "or clusterIdentifier set (what identifies the cluster to the Kubernetes provider)");
    }
    return { args: { kubeconfig: contents, context: s.kubeContext, clusterIdentifier }, images: cluster.images,
        loadBalancerAnswersHere: cluster.loadBalancerAnswersHere };
}

/**
 * The cluster's identity for the Kubernetes provider: the SHA-256 fingerprint of its CA certificate (inline, or
 * the file the kubeconfig names, relative to the kubeconfig's folder), which stays the same while credentials
 * rotate and contexts are renamed, and changes with a new cluster; the server URL when the kubeconfig names no
 * CA (insecure-skip-tls-verify). Undefined when the CA it names cannot be read.
 */
function identify(cluster: KubeconfigCluster, dir: string): string | undefined {
    let pem: string | undefined;
    try {
        if (typeof cluster.caData === "string" && cluster.caData !== "") {
            pem = Buffer.from(cluster.caData, "base64").toString("utf8");
        } else if (typeof cluster.caFile === "string" && cluster.caFile !== "") {
            pem = fs.readFileSync(path.resolve(dir, cluster.caFile), "utf8");
        } else {
            return `server ${String(cluster.server)}`;
        }
        return `ca sha256 ${new X509Certificate(pem).fingerprint256}`;
    } catch {
        return undefined;
    }
}

interface KubeconfigCluster {
    server?: unknown;
    caData?: unknown;
    caFile?: unknown;
    images?: Record<string, string>;
    loadBalancerAnswersHere: boolean;
}

interface Kubeconfig {
    currentContext?: string;
    contexts: Map<string, { cluster: string }>;
    clusters: Map<string, KubeconfigCluster>;
}

/** The parts of a kubeconfig the checks need, or undefined when the text is not a kubeconfig. */
function parseKubeconfig(text: string): Kubeconfig | undefined {
    let doc: unknown;
    try {
        doc = parseYaml(text);
    } catch {
        return undefined;
    }
    const d = doc as { "current-context"?: unknown; contexts?: unknown; clusters?: unknown } | null;
    if (!d || typeof d !== "object" || !Array.isArray(d.contexts) || !Array.isArray(d.clusters)) {
        return undefined;
    }
    const named = (items: unknown[]) => items.filter((i): i is { name: string } & Record<string, any> =>
        !!i && typeof i === "object" && typeof (i as { name?: unknown }).name === "string");
    const contexts = new Map(named(d.contexts).map((c) => [c.name, { cluster: String(c.context?.cluster ?? "") }]));
    const clusters = new Map(named(d.clusters).map((c) => [c.name, { server: c.cluster?.server, caData: c.cluster?.["certificate-authority-data"],
        caFile: c.cluster?.["certificate-authority"], images: imagesOf(c.cluster?.extensions),
        loadBalancerAnswersHere: extensionOf(c.cluster?.extensions, LOAD_BALANCER_EXTENSION)?.answers === "this-machine" }]));
    const current = typeof d["current-context"] === "string" && d["current-context"] !== "" ? d["current-context"] : undefined;
    return { currentContext: current, contexts, clusters };
}

/** The value of a cluster entry's named extension (kubeconfig `extensions: [{name, extension}]`), if it is an object. */
function extensionOf(extensions: unknown, name: string): Record<string, unknown> | undefined {
    const found = Array.isArray(extensions) ? extensions.find((e) => e?.name === name)?.extension : undefined;
    return found && typeof found === "object" ? found : undefined;
}

/** The images a cluster entry's extension lists, when it has the extension. */
function imagesOf(extensions: unknown): Record<string, string> | undefined {
    const found = extensionOf(extensions, IMAGES_EXTENSION);
    if (!found) {
        return undefined;
    }
    return Object.fromEntries(Object.entries(found).filter((e): e is [string, string] => typeof e[1] === "string"));
}
