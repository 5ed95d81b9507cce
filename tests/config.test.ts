import * as assert from "assert";
import { DEFAULT_IMAGE } from "../stacks/app";
import { StackConfigError } from "../stacks/problems";
import { readStack, StackSettings } from "../stacks/stack";
import { configMap, writeTempKubeconfig } from "../harness/mocks";

const eks = (values: Record<string, unknown> = {}) => readStack(configMap(values), { env: {} });
const clusterOf = (s: StackSettings) => {
    assert.ok(s.target.kind === "eks");
    return s.target.args;
};

describe("stack config: reading and defaults", () => {
    it("gives the tutorial's app and cluster when nothing is set", () => {
        const s = eks();
        const a = s.app.args;
        assert.deepStrictEqual(
            { name: s.app.name, replicas: a.replicas, port: a.port, containerPort: a.containerPort,
                serviceType: a.serviceType, maxSurge: a.maxSurge, maxUnavailable: a.maxUnavailable },
            { name: "sample-app", replicas: 1, port: 80, containerPort: 80, serviceType: "LoadBalancer", maxSurge: "25%", maxUnavailable: "25%" });
        const c = clusterOf(s);
        assert.deepStrictEqual([c.instanceTypes, c.desiredSize, c.minSize, c.maxSize], [["t2.micro"], 3, 1, 4]);
        assert.strictEqual(c.ssh, undefined);
        assert.deepStrictEqual(c.access, []);
        // The tutorial's Classic Load Balancer: no annotation, every address.
        assert.strictEqual(a.loadBalancer, undefined);
    });

    it("defaults to a pinned nginx tag, never latest or untagged", () => {
        assert.match(DEFAULT_IMAGE, /^nginx:\d+\.\d+\.\d+$/);
        assert.strictEqual(eks().app.args.image, DEFAULT_IMAGE);
    });

    it("reads flat keys as `pulumi config set` stores them (strings)", () => {
        const a = eks({ replicas: "3", port: "8080", image: "httpd:2.4", containerPort: "8081", maxSurge: "1", maxUnavailable: "0" }).app.args;
        assert.deepStrictEqual([a.replicas, a.port, a.image, a.containerPort, a.maxSurge, a.maxUnavailable], [3, 8080, "httpd:2.4", 8081, 1, 0]);
    });

    it("keeps the tutorial's nginx:1.7.9 one config set away", () => {
        assert.strictEqual(eks({ image: "nginx:1.7.9" }).app.args.image, "nginx:1.7.9");
    });

    it("takes an empty image as unset (Pulumi.yaml declares it with the default \"\")", () => {
        assert.strictEqual(eks({ image: "" }).app.args.image, DEFAULT_IMAGE);
    });

    it("reads structured cluster settings and fills the rest with defaults", () => {
        const c = clusterOf(eks({ cluster: { instanceTypes: ["t3.medium"], desiredSize: 2, minSize: 2, maxSize: 5,
            ssh: { publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB me@laptop", allowedCidrs: ["203.0.113.0/24"] } } }));
        assert.deepStrictEqual(c.instanceTypes, ["t3.medium"]);
        assert.deepStrictEqual([c.desiredSize, c.minSize, c.maxSize], [2, 2, 5]);
        assert.deepStrictEqual(c.ssh?.allowedCidrs, ["203.0.113.0/24"]);
        assert.strictEqual(c.natGateways, "Single");
    });

    it("fills the unset parts of a structured setting with their defaults (pulumi config set --path resources.limits.cpu 500m)", () => {
        assert.deepStrictEqual(eks({ resources: { limits: { cpu: "500m" } } }).app.args.resources,
            { requests: { cpu: "50m", memory: "32Mi" }, limits: { cpu: "500m", memory: "128Mi" } });
    });

    it("reads structured access entries and load balancer settings", () => {
        const access = [{ principalArn: "arn:aws:iam::123456789012:role/web", access: "edit", namespaces: ["web"] }];
        const s = eks({ cluster: { access }, loadBalancer: { type: "nlb", scheme: "internal", sourceRanges: ["10.0.0.0/8"] } });
        assert.deepStrictEqual(clusterOf(s).access, access);
        assert.deepStrictEqual(s.app.args.loadBalancer, {
            annotations: { "service.beta.kubernetes.io/aws-load-balancer-type": "nlb", "service.beta.kubernetes.io/aws-load-balancer-internal": "true" },
            sourceRanges: ["10.0.0.0/8"],
        });
    });

    it("reads a kubeconfig file for the kubeconfig target: config key first, then $KUBECONFIG", () => {
        const kubeconfig = (context: string) => `apiVersion: v1\nkind: Config\ncurrent-context: ${context}\n` +
            `clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]\ncontexts: [{name: ${context}, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {}}]\n`;
        const fromKey = writeTempKubeconfig(kubeconfig("from-key"));
        const fromEnv = writeTempKubeconfig(kubeconfig("from-env"));
        const a = readStack(configMap({ target: "kubeconfig", kubeconfig: fromKey }), { env: { KUBECONFIG: fromEnv } });
        const b = readStack(configMap({ target: "kubeconfig" }), { env: { KUBECONFIG: fromEnv } });
        assert.ok(a.target.kind === "kubeconfig" && b.target.kind === "kubeconfig");
        assert.strictEqual(a.target.args.kubeconfig, kubeconfig("from-key"));
        assert.strictEqual(b.target.args.kubeconfig, kubeconfig("from-env"));
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
