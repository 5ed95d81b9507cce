/** The plan npm run test:aws prints before it asks: what the dev stage creates, from Pulumi.dev.yaml, and its rough cost. */
import * as assert from "assert";
import * as fs from "fs";
import { ROOT } from "../../harness/mocks";
import { devStack } from "./devStack";
import { STACK } from "./fakes";
import { hourlyCost, planText } from "./plan";

describe("npm run test:aws (without AWS)", () => {
    describe("the plan", () => {
        const dev = devStack(ROOT, (p) => fs.readFileSync(p, "utf8"));

        it("lists what the dev stage creates, from Pulumi.dev.yaml", () => {
            const text = planText({ stack: STACK, region: "us-east-1", identity: { account: "123456789012", arn: "arn:aws:iam::123456789012:user/tester" },
                backend: "file:///repo/.pulumi-state", workDir: `/repo/.test-aws/${STACK}`, dev }).join("\n");
            assert.strictEqual(dev.region, "ap-northeast-1");
            for (const expected of [
                `test:aws will create, in AWS account 123456789012 as arn:aws:iam::123456789012:user/tester, region us-east-1:`,
                `Pulumi stack  ${STACK}: Pulumi.dev.yaml's settings, aws:region us-east-1`,
                "state         file:///repo/.pulumi-state",
                "a VPC over 2 availability zones: 2 public and 2 private subnets, an internet gateway, 1 NAT gateway with Elastic IPs",
                "an EKS control plane: Kubernetes 1.34 (standard support: EKS upgrades it when that ends), API authentication mode, public and private endpoint, " +
                    "Kubernetes secrets encrypted with a new KMS key (yearly rotation); control-plane logs to CloudWatch: none (dev's cluster.logTypes is empty); " +
                    "its add-ons VPC CNI v1.20.4-eksbuild.1, CoreDNS v1.12.4-eksbuild.1, kube-proxy v1.34.1-eksbuild.2; deletion protection off, so that the run can destroy it",
                "a managed node group: 3 × t2.micro (min 1, max 4; no autoscaler runs, so 3 stay), AL2023_x86_64_STANDARD, IMDSv2 required, " +
                    "1 node at a time in an update, node auto repair off",
                "Deployment sample-deployment (nginx:1.28.0, then httpd:2.4), Service sample-service of type LoadBalancer: a Classic Load Balancer",
                "the KMS key, which AWS keeps scheduled for deletion for 30 days",
                "the run then destroys the stack, checks that it is empty, removes it, and lists what it could not remove",
            ]) {
                assert.ok(text.includes(expected), `plan says: ${expected}\n--- plan:\n${text}`);
            }
            assert.match(text, /EKS control plane\s+0\.100\/h\n/);
            assert.match(text, /3 × t2\.micro nodes\s+0\.035\/h\s+\(0\.0116 each\)/);
            assert.match(text, /1 NAT gateway\s+0\.045\/h\s+\(\+ 0\.045\/GB processed/);
            assert.match(text, /Classic Load Balancer\s+0\.025\/h/);
            assert.match(text, /3 public IPv4 addresses\s+0\.015\/h\s+\(NAT gateway 1, load balancer 2\)/);
            assert.match(text, /total\s+0\.228\/h/);
            assert.match(text, /about 35 minutes[^\n]*about USD 0\.\d\d per run/);
            assert.match(text, /AWS list prices as of 2025, not looked up at run time/);
        });

        it("supportType EXTENDED: the control plane at the standard price, with the extended one noted", () => {
            const extended = { ...dev, cluster: { ...dev.cluster, supportType: "EXTENDED" as const } };
            const text = planText({ stack: STACK, region: "ap-northeast-1", backend: "b", workDir: "w", dev: extended }).join("\n");
            assert.match(text, /Kubernetes 1\.34 \(extended support allowed when standard support ends\)/);
            assert.match(text, /EKS control plane\s+0\.100\/h {2}\(in standard support; USD 0\.6\/h once in extended support, which supportType EXTENDED allows\)/);
            assert.strictEqual(hourlyCost("ap-northeast-1", extended).perHour, hourlyCost("ap-northeast-1", dev).perHour);
        });

        it("prices: the region's own where known (dev's Tokyo), else us-east-1's with a warning", () => {
            const tokyo = hourlyCost("ap-northeast-1", dev);
            assert.strictEqual(tokyo.pricedAs, "ap-northeast-1");
            assert.ok(Math.abs(tokyo.lines.find((l) => l.what.includes("t2.micro"))!.perHour! - 3 * 0.0152) < 1e-9);
            const expected = 0.10 + 3 * 0.0152 + 0.062 + 0.027 + 3 * 0.005 + (0.096 * 60) / 730 + 1 / 730;
            assert.ok(Math.abs(tokyo.perHour - expected) < 1e-9, `${tokyo.perHour} vs ${expected}`);
            assert.ok(tokyo.perRun > 0.1 && tokyo.perRun < 0.4, `per run ${tokyo.perRun}`);
            const saoPaulo = planText({ stack: STACK, region: "sa-east-1", backend: "b", workDir: "w", dev }).join("\n");
            assert.match(saoPaulo, /us-east-1's \(sa-east-1 is not in the table: expect up to ~30% more\)/);
            assert.match(saoPaulo, /the AWS account of your credentials, region sa-east-1/);
        });
    });
});
