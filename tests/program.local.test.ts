import * as assert from "assert";
import { DEFAULT_IMAGE } from "../stacks/app";
import { toolchainValue } from "../toolchain/versions";
import { asSecret, configMap, providerRef, one, ProgramOutputs, registeredUrns, registrations, runProgram, stageConfig, TEST_CA_DATA, TEST_CA_FINGERPRINT,
    writeTempKubeconfig } from "../harness/mocks";

/** A kind cluster's kubeconfig (two contexts), and the embedded cluster's, whose cluster entry lists the images it holds. */
const KUBECONFIG = `apiVersion: v1
kind: Config
current-context: kind-demo
clusters:
- name: kind-demo
  cluster: {server: "https://127.0.0.1:40123", certificate-authority-data: ${TEST_CA_DATA}}
contexts:
- name: kind-demo
  context: {cluster: kind-demo, user: kind-demo}
- name: other
  context: {cluster: kind-demo, user: kind-demo}
users:
- name: kind-demo
  user: {token: not-a-real-token}
`;
const EMBEDDED = (nginx: string, httpd: string) => `apiVersion: v1
kind: Config
clusters:
- name: embedded
  cluster:
    server: https://127.0.0.1:40124
    insecure-skip-tls-verify: true
    extensions:
    - name: eks-nginx/images
      extension: {nginx: "${nginx}", httpd: "${httpd}"}
contexts:
- name: embedded
  context: {cluster: embedded, user: admin}
current-context: embedded
users:
- name: admin
  user: {token: not-a-real-token}
`;

describe("local stage program (kubeconfig target, under mocks)", () => {
    let out: ProgramOutputs;
    let file: string;
    before(async () => {
        file = writeTempKubeconfig(KUBECONFIG);
        out = await runProgram({ ...stageConfig("local"), ...configMap({ kubeconfig: file }) });
    });

    it("registers no AWS, awsx or EKS resource at all", () => {
        const cloud = registrations.filter((r) => /^(aws|awsx|eks):|providers:(aws|eks)/.test(r.type));
        assert.deepStrictEqual(cloud, []);
        assert.deepStrictEqual(registrations.map((r) => r.type).sort(), [
            "eks-nginx:app:WebApp", "eks-nginx:cluster:KubeconfigCluster",
            "kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service", "pulumi:providers:kubernetes",
        ]);
    });

    it("builds its Kubernetes provider from the given kubeconfig file and binds both resources to it", () => {
        assert.deepStrictEqual(asSecret(one("pulumi:providers:kubernetes").inputs.kubeconfig), { secret: true, value: KUBECONFIG });
        for (const r of registrations.filter((x) => x.type.startsWith("kubernetes:"))) {
            assert.strictEqual(r.provider, providerRef(), `${r.type} ${r.name}`);
        }
        for (const urn of registeredUrns().filter((u) => u.includes("$kubernetes:"))) {
            assert.match(urn, /eks-nginx:app:WebApp\$kubernetes:/);
        }
    });

    it("uses the tutorial's LoadBalancer Service and, on a cluster that pulls from registries, the official nginx image", () => {
        assert.strictEqual(one("kubernetes:core/v1:Service").inputs.spec.type, "LoadBalancer");
        assert.match(out.url, /^http:\/\/a1b2c3-.*:80$/);
        assert.strictEqual(one("kubernetes:apps/v1:Deployment").inputs.spec.template.spec.containers[0].image, DEFAULT_IMAGE);
    });

    it("on the embedded cluster, whose kubeconfig lists the images it holds, uses its nginx (the name in toolchain/versions.sh)", async () => {
        const embedded = writeTempKubeconfig(EMBEDDED(toolchainValue("NGINX_IMAGE"), toolchainValue("HTTPD_IMAGE")));
        await runProgram({ ...stageConfig("local"), ...configMap({ kubeconfig: embedded }) });
        assert.strictEqual(one("kubernetes:apps/v1:Deployment").inputs.spec.template.spec.containers[0].image, toolchainValue("NGINX_IMAGE"));
        // A configured image is the image, on any cluster.
        await runProgram({ ...stageConfig("local"), ...configMap({ kubeconfig: embedded, image: toolchainValue("HTTPD_IMAGE") }) });
        assert.strictEqual(one("kubernetes:apps/v1:Deployment").inputs.spec.template.spec.containers[0].image, toolchainValue("HTTPD_IMAGE"));
        await runProgram({ ...stageConfig("local"), ...configMap({ kubeconfig: file, image: "httpd:2.4" }) });
        assert.strictEqual(one("kubernetes:apps/v1:Deployment").inputs.spec.template.spec.containers[0].image, "httpd:2.4");
    });

    it("takes a NodePort Service on clusters without a load balancer", async () => {
        const o = await runProgram({ ...stageConfig("local"), ...configMap({ kubeconfig: file, serviceType: "NodePort" }) });
        assert.strictEqual(one("kubernetes:core/v1:Service").inputs.spec.type, "NodePort");
        assert.strictEqual(o.url, "http://<node address>:31080");
    });

    it("names the cluster by its context and keeps the kubeconfig secret", () => {
        assert.strictEqual(out.clusterName, "kind-demo");
        assert.strictEqual(out.kubeconfig, KUBECONFIG);
        assert.strictEqual(out.secret.kubeconfig, true);
    });

    it("identifies the cluster to its provider by the CA's fingerprint, or the given clusterIdentifier, so a changed kubeconfig does not replace it", async () => {
        assert.strictEqual(one("pulumi:providers:kubernetes").inputs.clusterIdentifier, `ca sha256 ${TEST_CA_FINGERPRINT}`);
        await runProgram({ ...stageConfig("local"), ...configMap({ kubeconfig: file, clusterIdentifier: "kind-demo-2026" }) });
        assert.strictEqual(one("pulumi:providers:kubernetes").inputs.clusterIdentifier, "kind-demo-2026");
        // Without a CA (insecure-skip-tls-verify), the server's URL.
        await runProgram({ ...stageConfig("local"), ...configMap({ kubeconfig: writeTempKubeconfig(EMBEDDED("a:1", "b:2")) }) });
        assert.strictEqual(one("pulumi:providers:kubernetes").inputs.clusterIdentifier, "server https://127.0.0.1:40124");
    });

    it("honours kubeContext and a LoadBalancer service type", async () => {
        const o = await runProgram({ ...stageConfig("local"), ...configMap({ kubeconfig: file, kubeContext: "other", serviceType: "LoadBalancer" }) });
        assert.strictEqual(one("pulumi:providers:kubernetes").inputs.context, "other");
        assert.strictEqual(o.clusterName, "other");
        assert.match(o.url, /^http:\/\/a1b2c3-.*\.elb\.amazonaws\.com:80$/);
    });
});
