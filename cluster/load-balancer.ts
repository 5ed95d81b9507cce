/**
 * The embedded cluster's load-balancer controller, in the role a cloud's service controller plays for its load
 * balancers: every second it reads the LoadBalancer Services and the Nodes from the API server and, when what
 * they call for differs from HAProxy's configuration, writes the new one, checks it, keeps the servers' health
 * states, and has HAProxy reload it (the new worker takes over the listening sockets, the old one finishes its
 * connections: a reload refuses nothing).
 *
 * What HAProxy then does is what a cloud's network load balancer does (cloud-provider-kind configures Envoy the
 * same way): for each TCP port of each LoadBalancer Service, a frontend on the Service's address (the one the
 * kwok stage gave it) and port, refusing clients outside `loadBalancerSourceRanges`, and one server per node on
 * the port's NodePort at the node's address, health-checked over HTTP: kube-proxy's /healthz on port 10256 (503
 * once the node is being deleted or carries ToBeDeletedByClusterAutoscaler), or the Service's
 * healthCheckNodePort with `externalTrafficPolicy: Local` (200 only where a ready pod of it runs). A node
 * labelled node.kubernetes.io/exclude-from-external-load-balancers is left out. No retry on another server.
 *
 * Run by cluster/load-balancer.sh with Node.js, which strips the types:
 *   node -e 'import(process.argv[1]).then((m) => m.main(process.argv.slice(2)))' cluster/load-balancer.ts init|run <cluster dir>/
 * `init` writes the configuration without Services (HAProxy starts on it); `run` is the controller. Nothing runs
 * on import: the unit tests import haproxyConfig.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import * as path from "node:path";

/** What the configuration is made from: the Services and Nodes as the API lists them, and the stats port. */
export interface LoadBalancerInput {
    services: any[];
    nodes: any[];
    /** HAProxy's statistics page, on 127.0.0.1. */
    statsPort: number;
    /** The folder of HAProxy's sockets and server-state file. */
    lbDir: string;
}

/** kube-proxy's health port on every node (its default). */
export const KUBE_PROXY_HEALTH_PORT = 10256;
const EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers";

/** The nodes that get traffic: an InternalIP each, without the exclusion label; sorted by name. */
export function backendNodes(nodes: any[]): { name: string; ip: string }[] {
    return nodes
        .filter((n) => !(EXCLUDE_LABEL in (n.metadata?.labels ?? {})))
        .map((n) => ({ name: n.metadata.name as string, ip: (n.status?.addresses ?? []).find((a: any) => a.type === "InternalIP")?.address as string }))
        .filter((n) => Boolean(n.ip))
        .sort((a, b) => a.name.localeCompare(b.name));
}

/** HAProxy's configuration for the input: always the same text for the same Services and Nodes. */
export function haproxyConfig(input: LoadBalancerInput): string {
    const lines = [
        "# Written by cluster/load-balancer.ts from the cluster's LoadBalancer Services and Nodes; rewritten on every change.",
        "global",
        // Timestamped, so that a client's failed request can be matched with the connection's line.
        "    log stderr format iso local0 info",
        `    stats socket ${input.lbDir}/admin.sock mode 600 level admin expose-fd listeners`,
        `    server-state-file ${input.lbDir}/server-state`,
        // An old worker left by a reload ends after this long even if a client keeps its connection open.
        "    hard-stop-after 30s",
        "defaults",
        "    mode tcp",
        "    log global",
        "    option log-health-checks",
        // A line per connection that ended in error (with its server and termination state), none for the others.
        "    option tcplog",
        "    option dontlog-normal",
        "    timeout connect 2s",
        "    timeout client 60s",
        "    timeout server 60s",
        // One attempt per client connection, as a cloud's network load balancer makes.
        "    retries 0",
        "    load-server-state-from-file global",
        // Checked every second, down after 2 failures, up again after 2 successes.
        "    default-server check inter 1s fall 2 rise 2",
        "frontend stats",
        "    mode http",
        `    bind 127.0.0.1:${input.statsPort}`,
        "    stats enable",
        "    stats uri /",
        "    stats refresh 2s",
    ];
    const nodes = backendNodes(input.nodes);
    const services = input.services
        .filter((s) => s.spec?.type === "LoadBalancer" && !s.metadata?.deletionTimestamp && s.status?.loadBalancer?.ingress?.[0]?.ip)
        .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
    for (const s of services) {
        const address = s.status.loadBalancer.ingress[0].ip as string;
        const local = s.spec.externalTrafficPolicy === "Local" && s.spec.healthCheckNodePort;
        const healthPort = local ? s.spec.healthCheckNodePort : KUBE_PROXY_HEALTH_PORT;
        const ranges: string[] = s.spec.loadBalancerSourceRanges ?? [];
        for (const p of (s.spec.ports ?? []).filter((port: any) => (port.protocol ?? "TCP") === "TCP" && port.nodePort)) {
            // Kubernetes names have no dots, so namespace.name:port names each Service port once.
            const id = `${s.metadata.namespace}.${s.metadata.name}:${p.port}`;
            lines.push(`frontend ${id}`, `    bind ${address}:${p.port}`);
            if (ranges.length > 0) {
                lines.push(`    tcp-request connection reject unless { src ${ranges.join(" ")} }`);
            }
            lines.push(`    default_backend ${id}`, `backend ${id}`, "    balance roundrobin", "    option httpchk GET /healthz",
                "    http-check expect status 200");
            for (const n of nodes) {
                lines.push(`    server ${n.name} ${n.ip}:${p.nodePort} port ${healthPort}`);
            }
        }
    }
    return `${lines.join("\n")}\n`;
}

/** A one-line account of a configuration's frontends and servers, for the log. */
export function summary(config: string): string {
    const frontends = [...config.matchAll(/^frontend (\S+:\d+)\n {4}bind (\S+)$/gm)].map((m) => `${m[1]} on ${m[2]}`);
    const servers = new Set([...config.matchAll(/^ {4}server (\S+)/gm)].map((m) => m[1]));
    return `${frontends.length ? frontends.join(", ") : "no LoadBalancer Service"}; nodes: ${[...servers].join(", ") || "none"}`;
}

/** Sends one command to a HAProxy socket (admin or master) and returns its answer. */
function haproxySocket(socket: string, command: string): Promise<string> {
    return new Promise((resolve, reject) => {
        let answer = "";
        const c = net.connect(socket, () => c.end(`${command}\n`));
        c.setTimeout(5000, () => c.destroy(new Error(`${socket}: no answer to ${command}`)));
        c.on("data", (d) => (answer += d));
        c.on("end", () => resolve(answer));
        c.on("error", reject);
    });
}

/** The cluster's settings the controller needs, from its folder. */
function clusterSettings(clusterDir: string) {
    const ports = Object.fromEntries(fs.readFileSync(path.join(clusterDir, "ports"), "utf8").trim().split("\n").map((l) => l.split(" ")));
    const pki = path.join(clusterDir, "pki");
    return {
        agent: new https.Agent({
            keepAlive: true,
            ca: fs.readFileSync(path.join(pki, "ca.crt")),
            cert: fs.readFileSync(path.join(pki, "admin.crt")),
            key: fs.readFileSync(path.join(pki, "admin.key")),
        }),
        apiPort: Number(ports["kube-apiserver"]),
        statsPort: Number(ports["load-balancer-stats"]),
        lbDir: path.join(clusterDir, "load-balancer"),
    };
}

/** GET of a list from the API server; its items. */
function list(settings: ReturnType<typeof clusterSettings>, url: string): Promise<any[]> {
    return new Promise((resolve, reject) => {
        const req = https.get({ host: "127.0.0.1", port: settings.apiPort, path: url, agent: settings.agent, timeout: 5000 }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (d: string) => (body += d));
            res.on("end", () => {
                if (res.statusCode !== 200) {
                    reject(new Error(`GET ${url}: HTTP ${res.statusCode}`));
                    return;
                }
                try {
                    resolve(JSON.parse(body).items ?? []);
                } catch (e) {
                    reject(e as Error);
                }
            });
        });
        req.on("timeout", () => req.destroy(new Error(`GET ${url}: no answer within 5 s`)));
        req.on("error", reject);
    });
}

/** kube-proxy's /healthz on a node answers 200 within a second. */
function kubeProxyHealthy(ip: string): Promise<boolean> {
    return new Promise((resolve) => {
        const req = http.get({ host: ip, port: KUBE_PROXY_HEALTH_PORT, path: "/healthz", timeout: 1000 }, (res) => {
            res.resume();
            resolve(res.statusCode === 200);
        });
        req.on("timeout", () => req.destroy());
        req.on("error", () => resolve(false));
    });
}

/** A TCP connection to ip:port is accepted within a second. */
function accepts(ip: string, port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const c = net.connect({ host: ip, port, timeout: 1000 }, () => {
            c.destroy();
            resolve(true);
        });
        c.on("timeout", () => {
            c.destroy();
            resolve(false);
        });
        c.on("error", () => resolve(false));
    });
}

/**
 * The nodes registered with the load balancer, as a cloud registers an instance in its target group: a node
 * joins once its kube-proxy answers healthy and its NodePorts accept connections (HAProxy would count a server
 * it has never checked as up and send it connections that a NodePort not programmed yet refuses; kube-proxy's
 * /healthz alone can answer 200 before its first sync), and stays until its Node is gone; from then on
 * HAProxy's own checks take it out of rotation and back.
 */
async function registeredNodes(nodes: any[], services: any[], registered: Set<string>): Promise<any[]> {
    const present = new Set(nodes.map((n) => n.metadata?.name as string));
    for (const name of [...registered]) {
        if (!present.has(name)) registered.delete(name);
    }
    // With externalTrafficPolicy Local a NodePort answers only where a pod of the Service runs, and its own
    // health check port says where: only the other Services' NodePorts must accept on every node.
    const nodePorts: number[] = services.filter((s) => s.spec?.type === "LoadBalancer" && s.spec.externalTrafficPolicy !== "Local")
        .flatMap((s) => (s.spec.ports ?? []).map((p: any) => p.nodePort).filter(Boolean));
    const ready = async (ip: string) => (await kubeProxyHealthy(ip)) && (await Promise.all(nodePorts.map((p) => accepts(ip, p)))).every(Boolean);
    const candidates = backendNodes(nodes).filter((n) => !registered.has(n.name));
    const healthy = await Promise.all(candidates.map((n) => ready(n.ip)));
    candidates.forEach((n, i) => {
        if (healthy[i]) {
            registered.add(n.name);
            log(`registered node ${n.name} (${n.ip}): kube-proxy answers healthy, NodePorts ${nodePorts.join(", ") || "none"} accept`);
        }
    });
    return nodes.filter((n) => registered.has(n.metadata?.name));
}

const log = (message: string) => console.log(`${new Date().toISOString()} ${message}`);

/** Writes `config` as HAProxy's configuration when it differs, checked first, and reloads HAProxy. */
async function apply(lbDir: string, config: string): Promise<void> {
    const file = path.join(lbDir, "haproxy.cfg");
    if (fs.existsSync(file) && fs.readFileSync(file, "utf8") === config) {
        return;
    }
    fs.writeFileSync(`${file}.new`, config);
    execFileSync("haproxy", ["-c", "-q", "-f", `${file}.new`], { stdio: ["ignore", "ignore", "pipe"] });
    // The servers' health states, so that the new worker starts from them and not from "up".
    fs.writeFileSync(path.join(lbDir, "server-state"), await haproxySocket(path.join(lbDir, "admin.sock"), "show servers state"));
    fs.renameSync(`${file}.new`, file);
    await haproxySocket(path.join(lbDir, "master.sock"), "reload");
    log(`reloaded: ${summary(config)}`);
}

/** `init DIR`: the configuration without Services; `run DIR`: the controller, until it is stopped. */
export async function main(args: string[]): Promise<void> {
    const [command, clusterDir] = args;
    const settings = clusterSettings(clusterDir);
    const config = (services: any[], nodes: any[]) => haproxyConfig({ services, nodes, statsPort: settings.statsPort, lbDir: settings.lbDir });
    if (command === "init") {
        fs.mkdirSync(settings.lbDir, { recursive: true });
        fs.writeFileSync(path.join(settings.lbDir, "haproxy.cfg"), config([], []));
        return;
    }
    if (command !== "run") {
        throw new Error(`usage: load-balancer.ts init|run <cluster dir>, not ${args.join(" ")}`);
    }
    log(`controller of the load balancer of ${clusterDir}: API https://127.0.0.1:${settings.apiPort}, statistics on http://127.0.0.1:${settings.statsPort}/`);
    let lastError = "";
    const registered = new Set<string>();
    for (;;) {
        try {
            const [services, nodes] = await Promise.all([list(settings, "/api/v1/services"), list(settings, "/api/v1/nodes")]);
            await apply(settings.lbDir, config(services, await registeredNodes(nodes, services, registered)));
            lastError = "";
        } catch (e) {
            const message = (e as Error).message.split("\n")[0];
            if (message !== lastError) {
                log(`not applied (retrying every second): ${message}`);
                lastError = message;
            }
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
    }
}
