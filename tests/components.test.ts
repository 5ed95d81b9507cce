/**
 * The components' own checks, used without the stack settings: a component refuses the arguments its check
 * refuses, all at once and before it makes any child; the settings report the same problems under their keys.
 */
import * as assert from "assert";
import * as k8s from "@pulumi/kubernetes";
import { checkEksClusterArgs, nodeUpdateConfig, parsePrincipalArn } from "../components/eksClusterArgs";
import { WebApp } from "../components/webApp";
import { checkWebAppArgs, webAppObjectNames } from "../components/webAppArgs";
import { registrations, reset, waitForRPCs } from "../harness/mocks";

const APP = { image: "nginx:1.28.0", replicas: 1, containerPort: 80, port: 80, containerName: "nginx-container",
    resources: { limits: { cpu: "250m", memory: "128Mi" } } };
const CLUSTER = { instanceTypes: ["t2.micro"], desiredSize: 3, minSize: 1, maxSize: 4 };

describe("components: argument checks", () => {
    it("WebApp refuses what its check refuses, every problem at once, before making any child", async () => {
        reset();
        const provider = new k8s.Provider("check-test", { kubeconfig: "apiVersion: v1\nkind: Config\n" });
        assert.throws(() => new WebApp("Web_App", { ...APP, provider, maxSurge: 0, maxUnavailable: "0%",
            autoscaling: { minReplicas: 3, maxReplicas: 2, targetCpuUtilization: 70 } }),
        (e: Error) => /WebApp Web_App: invalid arguments:\n {2}- name = "Web_App": expected a DNS label[^\n]*\n {2}- autoscaling = \{"minReplicas":3,"maxReplicas":2\}: expected minReplicas ≤ maxReplicas\n {2}- maxSurge = 0: expected maxSurge and maxUnavailable not both 0/.test(e.message));
        await waitForRPCs();
        assert.deepStrictEqual(registrations.filter((r) => r.type.startsWith("kubernetes:")), []);
    });

    it("WebApp: the Service name fits Kubernetes' 63 characters for every name the check accepts", () => {
        for (const name of ["a".repeat(55), `${"a".repeat(55)}-app`]) {
            assert.deepStrictEqual(checkWebAppArgs(name, APP), [], name);
            assert.strictEqual(webAppObjectNames(name).service.length, 63, name);
        }
        for (const name of ["a".repeat(56), `${"a".repeat(56)}-app`, "a".repeat(64)]) {
            assert.deepStrictEqual(checkWebAppArgs(name, APP).map((p) => p.arg), ["name"], name);
        }
    });

    it("WebApp: requests above their limits, in any units Kubernetes takes", () => {
        const problems = (requests: Record<string, string>, limits: Record<string, string>) =>
            checkWebAppArgs("web", { ...APP, resources: { requests, limits } }).map((p) => p.arg);
        assert.deepStrictEqual(problems({ cpu: "0.5", memory: "1Gi" }, { cpu: "250m", memory: "512Mi" }), ["resources.requests.cpu", "resources.requests.memory"]);
        assert.deepStrictEqual(problems({ cpu: "250m", memory: "1e9" }, { cpu: "0.25", memory: "1Gi" }), []);
    });

    it("EksCluster: sizes out of order, no endpoint, settings that others turn off, access entries EKS would refuse", () => {
        const arn = "arn:aws:iam::123456789012:role/web";
        assert.deepStrictEqual(checkEksClusterArgs({ ...CLUSTER, minSize: 4, endpointPublicAccess: false, endpointPrivateAccess: false,
            publicAccessCidrs: ["203.0.113.0/24"], secretsEncryption: false, kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/k",
            access: [{ principalArn: arn, access: "view", namespaces: [] }, { principalArn: "arn:aws:iam::123456789012:role/Web", access: "edit" },
                { principalArn: "arn:aws:iam::123456789012:group/devs", access: "view" }] }).map((p) => p.arg),
        ["", "", "publicAccessCidrs", "kmsKeyArn", "access.0.namespaces", "access.1.principalArn", "access.2.principalArn"]);
        assert.deepStrictEqual(checkEksClusterArgs(CLUSTER), []);
    });

    it("EksCluster: a node update EKS would refuse, SSH on Bottlerocket nodes", () => {
        const ssh = { publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB me@laptop", allowedCidrs: ["203.0.113.0/24"] };
        for (const maxUnavailable of [0, 101, 1.5, "0%", "101%", "5", "25 %", "1".repeat(100) + "%"]) {
            assert.deepStrictEqual(checkEksClusterArgs({ ...CLUSTER, nodeUpdate: { maxUnavailable } }).map((p) => p.arg), ["nodeUpdate.maxUnavailable"],
                JSON.stringify(maxUnavailable).slice(0, 20));
        }
        for (const maxUnavailable of [1, 100, "1%", "100%"]) {
            assert.deepStrictEqual(checkEksClusterArgs({ ...CLUSTER, nodeUpdate: { maxUnavailable } }), [], String(maxUnavailable));
        }
        assert.deepStrictEqual(checkEksClusterArgs({ ...CLUSTER, ssh, amiType: "BOTTLEROCKET_x86_64" }).map((p) => p.arg), ["ssh"]);
        assert.deepStrictEqual(checkEksClusterArgs({ ...CLUSTER, ssh, amiType: "AL2023_x86_64_STANDARD" }), []);
        assert.deepStrictEqual(checkEksClusterArgs({ ...CLUSTER, amiType: "BOTTLEROCKET_x86_64" }), []);
    });

    it("EksCluster: node update settings become the node group's updateConfig", () => {
        assert.deepStrictEqual(nodeUpdateConfig(3), { maxUnavailable: 3 });
        assert.deepStrictEqual(nodeUpdateConfig("25%"), { maxUnavailablePercentage: 25 });
        assert.strictEqual(nodeUpdateConfig("25"), undefined);
    });

    it("EksCluster: principal ARNs, parsed as the access entries are named", () => {
        assert.deepStrictEqual(parsePrincipalArn("arn:aws-cn:iam::123456789012:role/teams/web/deployers"),
            { partition: "aws-cn", account: "123456789012", kind: "role", pathAndName: "teams/web/deployers" });
        for (const bad of ["arn:aws:iam::123456789012:role/*", "arn:aws:sts::123456789012:assumed-role/a/b", `arn:aws:iam::123456789012:role/${"a/".repeat(2000)}x`]) {
            assert.strictEqual(parsePrincipalArn(bad), undefined, bad.slice(0, 60));
        }
    });
});
