/**
 * Read-only GETs to the Kubernetes API server a kubeconfig names, for the app's own readiness check
 * (components/appReadiness.ts) and the bench: Node's https with the kubeconfig's CA and its client certificate,
 * bearer token or exec credential plugin (what EKS kubeconfigs use: `aws eks get-token`). Other kinds of
 * kubeconfig users (auth-provider plugins, basic auth) and proxies are refused with a message that says so.
 * Not @kubernetes/client-node: the check needs four read-only GETs, and that client (2.0.1, what the registry
 * serves) is an ES module with 16 dependencies, 5 MB unpacked, that every `pulumi up` and preview would load.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as https from "https";
import { parse as parseYaml } from "yaml";

export interface KubernetesApi {
    /** The parsed JSON at `path` (e.g. /api/v1/namespaces/default/pods?labelSelector=app%3Dx); undefined on 404. */
    get(path: string): Promise<any>;
    /** Closes the kept-alive connections (a process with open sockets does not end). */
    close(): void;
}

type Named<T> = { name: string } & T;
interface Kubeconfig {
    "current-context"?: string;
    contexts?: Named<{ context: { cluster: string; user?: string } }>[];
    clusters?: Named<{ cluster: Record<string, any> }>[];
    users?: Named<{ user: Record<string, any> }>[];
}

interface Credential {
    token?: string;
    cert?: Buffer;
    key?: Buffer;
    /** Milliseconds since the epoch after which an exec plugin's credential is asked for again. */
    expires?: number;
}

const fileOrData = (entry: Record<string, any>, key: string): Buffer | undefined =>
    entry[`${key}-data`] ? Buffer.from(entry[`${key}-data`], "base64") : entry[key] ? fs.readFileSync(entry[key]) : undefined;

/** An exec credential plugin's answer (client.authentication.k8s.io ExecCredential status). */
function runExecPlugin(exec: Record<string, any>): Promise<Credential> {
    const env: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_EXEC_INFO: JSON.stringify({ apiVersion: exec.apiVersion, kind: "ExecCredential", spec: { interactive: false } }) };
    for (const e of exec.env ?? []) {
        env[e.name] = e.value;
    }
    return new Promise((resolve, reject) => {
        execFile(exec.command, exec.args ?? [], { env, timeout: 60_000, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
            if (error) {
                reject(new Error(`the kubeconfig's credential command ${exec.command} failed: ${stderr.trim() || error.message}`));
                return;
            }
            try {
                const status = JSON.parse(stdout).status ?? {};
                resolve({
                    token: status.token,
                    cert: status.clientCertificateData ? Buffer.from(status.clientCertificateData) : undefined,
                    key: status.clientKeyData ? Buffer.from(status.clientKeyData) : undefined,
                    // Asked for again a minute before it expires; without an expiry, once per process.
                    expires: status.expirationTimestamp ? Date.parse(status.expirationTimestamp) - 60_000 : undefined,
                });
            } catch (e) {
                reject(new Error(`the kubeconfig's credential command ${exec.command} printed no ExecCredential: ${(e as Error).message}`));
            }
        });
    });
}

/** A client for the cluster of `kubeconfigText` (YAML or JSON) in `context` (unset: its current-context). */
export function kubernetesApi(kubeconfigText: string, context?: string): KubernetesApi {
    const config = parseYaml(kubeconfigText) as Kubeconfig;
    const contextName = context ?? config["current-context"];
    const ctx = config.contexts?.find((c) => c.name === contextName)?.context;
    const cluster = config.clusters?.find((c) => c.name === ctx?.cluster)?.cluster;
    if (!ctx || !cluster?.server) {
        throw new Error(`the kubeconfig has no context ${contextName ?? "(no current-context)"} with a cluster and server`);
    }
    const user = config.users?.find((u) => u.name === ctx.user)?.user ?? {};
    if (user["auth-provider"] || user.username) {
        throw new Error("the kubeconfig's user authenticates with an auth-provider plugin or a password, which the readiness check does not support");
    }
    const agent = new https.Agent({
        keepAlive: true,
        ca: fileOrData(cluster, "certificate-authority"),
        rejectUnauthorized: cluster["insecure-skip-tls-verify"] !== true,
        servername: cluster["tls-server-name"],
    });
    const fixed: Credential = {
        token: user.token ?? (user.tokenFile ? fs.readFileSync(user.tokenFile, "utf8").trim() : undefined),
        cert: fileOrData(user, "client-certificate"),
        key: fileOrData(user, "client-key"),
    };
    let plugin: Promise<Credential> | undefined;
    const credential = async (): Promise<Credential> => {
        if (!user.exec) {
            return fixed;
        }
        const current = plugin ? await plugin.catch(() => undefined) : undefined;
        if (!current || (current.expires !== undefined && Date.now() > current.expires)) {
            plugin = runExecPlugin(user.exec);
        }
        return plugin!;
    };
    const base = String(cluster.server).replace(/\/+$/, "");
    return {
        get: async (path) => {
            const c = await credential();
            return new Promise((resolve, reject) => {
                const req = https.get(`${base}${path}`, {
                    agent,
                    cert: c.cert,
                    key: c.key,
                    headers: { Accept: "application/json", ...(c.token ? { Authorization: `Bearer ${c.token}` } : {}) },
                    timeout: 10_000,
                }, (res) => {
                    let body = "";
                    res.setEncoding("utf8");
                    res.on("data", (d: string) => (body += d));
                    res.on("end", () => {
                        if (res.statusCode === 404) {
                            resolve(undefined);
                        } else if (res.statusCode !== 200) {
                            reject(new Error(`GET ${path}: HTTP ${res.statusCode}: ${body.slice(0, 300)}`));
                        } else {
                            try {
                                resolve(JSON.parse(body));
                            } catch (e) {
                                reject(new Error(`GET ${path}: not JSON: ${(e as Error).message}`));
                            }
                        }
                    });
                    res.on("error", reject);
                });
                req.on("timeout", () => req.destroy(new Error(`GET ${path}: no answer within 10 s`)));
                req.on("error", reject);
            });
        },
        close: () => agent.destroy(),
    };
}
