import * as assert from "assert";
import { DEFAULTS, parseStackConfig, StackConfigError } from "../stacks/config";
import { configMap, writeTempKubeconfig } from "../harness/mocks";

const eks = (values: Record<string, unknown> = {}) => parseStackConfig(configMap(values), { env: {} });

describe("stack config: reading and defaults", () => {
    it("gives the tutorial's app and cluster when nothing is set", () => {
        const s = eks();
        assert.deepStrictEqual(
            { name: s.app.name, replicas: s.app.replicas, port: s.app.port, containerPort: s.app.containerPort,
                serviceType: s.app.serviceType, maxSurge: s.app.maxSurge, maxUnavailable: s.app.maxUnavailable },
            { name: "sample-app", replicas: 1, port: 80, containerPort: 80, serviceType: "LoadBalancer", maxSurge: "25%", maxUnavailable: "25%" });
        assert.ok(s.target.kind === "eks");
        assert.deepStrictEqual(
            [s.target.cluster.instanceTypes, s.target.cluster.desiredSize, s.target.cluster.minSize, s.target.cluster.maxSize],
            [["t2.micro"], 3, 1, 4]);
        assert.strictEqual(s.target.cluster.ssh, undefined);
        assert.deepStrictEqual(s.target.cluster.access, []);
        assert.deepStrictEqual(s.app.loadBalancer, { type: "classic", scheme: "internet-facing", sourceRanges: undefined, allowInternet: false });
    });

    it("defaults to a pinned nginx tag, never latest or untagged", () => {
        assert.match(DEFAULTS.image, /^nginx:\d+\.\d+\.\d+$/);
    });

    it("reads flat keys as `pulumi config set` stores them (strings)", () => {
        const s = eks({ replicas: "3", port: "8080", image: "httpd:2.4", containerPort: "8081", maxSurge: "1", maxUnavailable: "0" });
        assert.deepStrictEqual(
            [s.app.replicas, s.app.port, s.app.image, s.app.containerPort, s.app.maxSurge, s.app.maxUnavailable],
            [3, 8080, "httpd:2.4", 8081, 1, 0]);
    });

    it("keeps the tutorial's nginx:1.7.9 one config set away", () => {
        assert.strictEqual(eks({ image: "nginx:1.7.9" }).app.image, "nginx:1.7.9");
    });

    it("reads structured cluster settings and fills the rest with defaults", () => {
        const s = eks({ cluster: { instanceTypes: ["t3.medium"], desiredSize: 2, minSize: 2, maxSize: 5,
            ssh: { publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB me@laptop", allowedCidrs: ["203.0.113.0/24"] } } });
        assert.ok(s.target.kind === "eks");
        assert.deepStrictEqual(s.target.cluster.instanceTypes, ["t3.medium"]);
        assert.deepStrictEqual([s.target.cluster.desiredSize, s.target.cluster.minSize, s.target.cluster.maxSize], [2, 2, 5]);
        assert.deepStrictEqual(s.target.cluster.ssh?.allowedCidrs, ["203.0.113.0/24"]);
        assert.strictEqual(s.target.cluster.natGateways, "Single");
    });

    it("reads structured access entries and load balancer settings", () => {
        const access = [{ principalArn: "arn:aws:iam::123456789012:role/web", access: "edit", namespaces: ["web"] }];
        const s = eks({ cluster: { access }, loadBalancer: { type: "nlb", scheme: "internal", sourceRanges: ["10.0.0.0/8"] } });
        assert.ok(s.target.kind === "eks");
        assert.deepStrictEqual(s.target.cluster.access, access);
        assert.deepStrictEqual(s.app.loadBalancer, { type: "nlb", scheme: "internal", sourceRanges: ["10.0.0.0/8"], allowInternet: false });
    });

    it("reads a kubeconfig file for the kubeconfig target: config key first, then $KUBECONFIG", () => {
        const fromKey = writeTempKubeconfig("current-context: from-key\n");
        const fromEnv = writeTempKubeconfig("current-context: from-env\n");
        const a = parseStackConfig(configMap({ target: "kubeconfig", kubeconfig: fromKey }), { env: { KUBECONFIG: fromEnv } });
        const b = parseStackConfig(configMap({ target: "kubeconfig" }), { env: { KUBECONFIG: fromEnv } });
        assert.ok(a.target.kind === "kubeconfig" && b.target.kind === "kubeconfig");
        assert.strictEqual(a.target.kubeconfig, "current-context: from-key\n");
        assert.strictEqual(b.target.kubeconfig, "current-context: from-env\n");
    });

    it("lists every bad key at once", () => {
        try {
            eks({ replicas: "-1", port: "0", image: "Nginx:1" });
            assert.fail("accepted bad config");
        } catch (e) {
            assert.ok(e instanceof StackConfigError);
            assert.deepStrictEqual(e.problems.map((p) => p.key), ["replicas", "image", "port"]);
        }
    });
});
