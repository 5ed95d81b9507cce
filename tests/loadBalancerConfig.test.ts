// The embedded cluster's load balancer: the HAProxy configuration its controller (cluster/load-balancer.ts) writes
// from the LoadBalancer Services and the Nodes, as a cloud's service controller configures its load balancer.
import * as assert from "assert";
import { backendNodes, haproxyConfig, KUBE_PROXY_HEALTH_PORT, summary } from "../cluster/load-balancer";

const node = (name: string, ip?: string, labels: Record<string, string> = {}) => ({
    metadata: { name, labels },
    status: { addresses: ip ? [{ type: "Hostname", address: name }, { type: "InternalIP", address: ip }] : [{ type: "Hostname", address: name }] },
});
const service = (name: string, spec: Record<string, unknown>, ip: string | null = "127.96.0.10", extra: Record<string, unknown> = {}) => ({
    metadata: { namespace: "default", name, ...extra },
    spec: { type: "LoadBalancer", ports: [{ port: 80, nodePort: 30080, protocol: "TCP" }], ...spec },
    status: { loadBalancer: { ingress: ip ? [{ ip }] : [] } },
});
const config = (services: any[], nodes: any[]) => haproxyConfig({ services, nodes, statsPort: 40000, lbDir: "/c/load-balancer" });
const nodes = [node("node-2", "198.18.0.12"), node("node-1", "198.18.0.11")];

describe("embedded load balancer: HAProxy configuration from Services and Nodes", () => {
    it("backends are the nodes with an InternalIP and without the exclusion label, sorted by name", () => {
        const all = [...nodes, node("node-3"), node("node-4", "198.18.0.14", { "node.kubernetes.io/exclude-from-external-load-balancers": "" })];
        assert.deepStrictEqual(backendNodes(all), [{ name: "node-1", ip: "198.18.0.11" }, { name: "node-2", ip: "198.18.0.12" }]);
    });

    it("one frontend per TCP port on the Service's address, one server per node on its NodePort, checked on kube-proxy's /healthz", () => {
        const text = config([service("web", {})], nodes);
        assert.match(text, /^frontend default\.web:80\n {4}bind 127\.96\.0\.10:80\n {4}default_backend default\.web:80$/m);
        assert.match(text, /^ {4}option httpchk GET \/healthz$/m);
        assert.match(text, new RegExp(`^ {4}server node-1 198\\.18\\.0\\.11:30080 port ${KUBE_PROXY_HEALTH_PORT}\\n {4}server node-2 198\\.18\\.0\\.12:30080 port ${KUBE_PROXY_HEALTH_PORT}$`, "m"));
        assert.match(text, /^ {4}retries 0$/m);
        assert.strictEqual(summary(text), "default.web:80 on 127.96.0.10:80; nodes: node-1, node-2");
    });

    it("externalTrafficPolicy Local: checked on the Service's healthCheckNodePort (only nodes with a ready pod answer)", () => {
        const text = config([service("web", { externalTrafficPolicy: "Local", healthCheckNodePort: 31999 })], nodes);
        assert.match(text, /^ {4}server node-1 198\.18\.0\.11:30080 port 31999$/m);
        assert.doesNotMatch(text, new RegExp(`port ${KUBE_PROXY_HEALTH_PORT}`));
    });

    it("loadBalancerSourceRanges: connections from other addresses are rejected", () => {
        const text = config([service("web", { loadBalancerSourceRanges: ["10.0.0.0/8", "127.0.0.1/32"] })], nodes);
        assert.match(text, /^ {4}tcp-request connection reject unless \{ src 10\.0\.0\.0\/8 127\.0\.0\.1\/32 \}$/m);
        assert.doesNotMatch(config([service("web", {})], nodes), /tcp-request/);
    });

    it("no frontend for a Service without an address yet, one being deleted, another type, or a UDP port", () => {
        const text = config([
            service("pending", {}, null),
            service("deleting", {}, "127.96.0.11", { deletionTimestamp: "2026-12-01T00:00:00Z" }),
            service("cluster-ip", { type: "ClusterIP" }, "127.96.0.12"),
            service("udp", { ports: [{ port: 53, nodePort: 30053, protocol: "UDP" }] }, "127.96.0.13"),
        ], nodes);
        assert.doesNotMatch(text, /^frontend default\./m);
        assert.strictEqual(summary(text), "no LoadBalancer Service; nodes: none");
    });

    it("every port of a Service gets its own frontend; the same input always gives the same text", () => {
        const two = service("web", { ports: [{ port: 80, nodePort: 30080 }, { port: 8080, nodePort: 30081, protocol: "TCP" }] });
        const text = config([two], nodes);
        assert.match(text, /^frontend default\.web:80$/m);
        assert.match(text, /^frontend default\.web:8080\n {4}bind 127\.96\.0\.10:8080$/m);
        assert.strictEqual(config([two], [...nodes].reverse()), text);
    });
});
