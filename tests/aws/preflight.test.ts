/** Before npm run test:aws creates anything: the tools, the credentials (and what AWS says of them), the region. */
import * as assert from "assert";
import { Env } from "./deps";
import { CREDENTIALS, fail, fake, HOME } from "./fakes";
import { credentialSources } from "./preflight";
import { main } from "./runner";

describe("npm run test:aws (without AWS)", () => {
    describe("before anything is created: tools, credentials, region", () => {
        it("without credentials, aws CLI or region: refuses, naming each, and creates nothing", async () => {
            const f = fake({ env: {}, tools: ["pulumi", "kubectl"] });
            assert.strictEqual(await main([], f.deps), 1);
            assert.deepStrictEqual(f.calls, []);
            const out = f.out();
            assert.match(out, /^test:aws: cannot start; nothing was created:/);
            assert.match(out, /- aws \(the AWS CLI\) not found on PATH: the cluster's kubeconfig runs `aws eks get-token`/);
            assert.match(out, /- no region: pass --region <region> \(e\.g\. --region ap-northeast-1, dev's region\) or set AWS_REGION/);
            assert.match(out, /- no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set, AWS_PROFILE is not set, there is no \/home\/tester\/\.aws\/credentials or \/home\/tester\/\.aws\/config/);
        });

        it("names pulumi and kubectl when they are missing", async () => {
            const f = fake({ tools: ["aws"] });
            assert.strictEqual(await main([], f.deps), 1);
            assert.match(f.out(), /- pulumi not found on PATH: npm run toolchain/);
            assert.match(f.out(), /- kubectl not found on PATH/);
            assert.ok(!f.calls.some((c) => c.startsWith("pulumi") || c.startsWith("prepareWork")));
        });

        it("half-set keys: names the missing one, without calling AWS", async () => {
            const f = fake({ env: { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_REGION: "eu-west-1" } });
            assert.strictEqual(await main([], f.deps), 1);
            assert.match(f.out(), /- AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not/);
            assert.deepStrictEqual(f.calls, []);
            const c = credentialSources({ AWS_SECRET_ACCESS_KEY: "x" }, () => undefined, HOME);
            assert.deepStrictEqual(c.problems, ["AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not"]);
        });

        it("AWS_PROFILE must name a profile of the credentials or config file", () => {
            const files: Record<string, string> = { [`${HOME}/.aws/config`]: "[default]\nregion = eu-west-1\n[profile team]\nsso_session = x\n" };
            const read = (p: string) => files[p];
            assert.deepStrictEqual(credentialSources({ AWS_PROFILE: "team" }, read, HOME), { sources: ["profile team (AWS_PROFILE)"], problems: [],
                none: credentialSources({ AWS_PROFILE: "team" }, read, HOME).none });
            assert.deepStrictEqual(credentialSources({ AWS_PROFILE: "other" }, read, HOME).problems,
                [`AWS_PROFILE=other, but neither ${HOME}/.aws/credentials nor ${HOME}/.aws/config has a profile of that name`]);
            assert.deepStrictEqual(credentialSources({}, (p) => (p.endsWith("credentials") ? "[default]\naws_access_key_id = A\n" : undefined), HOME).sources,
                [`the default profile (${HOME}/.aws/credentials)`]);
            assert.deepStrictEqual(credentialSources({ AWS_SHARED_CREDENTIALS_FILE: "/etc/creds" }, (p) => (p === "/etc/creds" ? "[default]\n" : undefined), HOME).sources,
                ["the default profile (/etc/creds)"]);
            assert.deepStrictEqual(credentialSources({ AWS_ROLE_ARN: "arn:aws:iam::1:role/ci", AWS_WEB_IDENTITY_TOKEN_FILE: "/t" }, () => undefined, HOME).sources,
                ["web identity (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE)"]);
        });

        it("credentials that AWS rejects: names the source and AWS's error", async () => {
            const f = fake({ exec: (c) => (c.cmd === "aws" ? fail("An error occurred (ExpiredToken) when calling the GetCallerIdentity operation: The security token included in the request is expired", 254) : undefined) });
            assert.strictEqual(await main(["--yes"], f.deps), 1);
            assert.match(f.out(), /- aws sts get-caller-identity failed with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: An error occurred \(ExpiredToken\)[^\n]*\(expired or wrong credentials\?\)/);
            assert.deepStrictEqual(f.calls, ["aws sts get-caller-identity --output json"]);
        });

        it("no credentials in the environment or files, and sts finds none either: both said", async () => {
            const f = fake({ env: { AWS_REGION: "eu-west-1" }, exec: (c) => (c.cmd === "aws" ? fail("Unable to locate credentials. You can configure credentials by running \"aws configure\".", 253) : undefined) });
            assert.strictEqual(await main(["--yes"], f.deps), 1);
            assert.match(f.out(), /- no AWS credentials: [^\n]*\(aws sts get-caller-identity: Unable to locate credentials\./);
        });

        it("credentials only sts finds (an instance role): accepted, with the account in the plan", async () => {
            const f = fake({ env: { AWS_REGION: "eu-west-1" }, tty: true, answer: "n" });
            assert.strictEqual(await main([], f.deps), 1);
            assert.match(f.out(), /in AWS account 123456789012 as arn:aws:iam::123456789012:user\/tester, region eu-west-1/);
        });

        it("region: --region, else AWS_REGION, else AWS_DEFAULT_REGION", async () => {
            for (const [argv, env, region] of [[["--region", "us-east-1"], CREDENTIALS, "us-east-1"], [[], CREDENTIALS, "eu-west-1"],
                [[], { ...CREDENTIALS, AWS_REGION: undefined, AWS_DEFAULT_REGION: "ap-northeast-1" }, "ap-northeast-1"]] as [string[], Env, string][]) {
                const f = fake({ env, answer: "n", tty: true });
                await main(argv, f.deps);
                assert.match(f.out(), new RegExp(`region ${region}:`), region);
            }
            const f = fake({ env: { ...CREDENTIALS, AWS_REGION: "somewhere" } });
            assert.strictEqual(await main([], f.deps), 1);
            assert.match(f.out(), /- AWS_REGION=somewhere is not an AWS region name/);
        });
    });
});
