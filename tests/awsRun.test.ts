/**
 * npm run test:aws without AWS: its arguments, the checks before anything is created (tools, credentials, region),
 * the plan and its cost, the confirmation, and the cleanup after a passed run, a failing step, an exception and a
 * signal, with fakes for every command (pulumi, aws), the prompt, the environment, the clock and the steps' process.
 */
import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Answer } from "../harness/http";
import { DEFAULT_DNS_TIMEOUT_SECONDS, newStackName, parseArgs, UsageError } from "./aws/arguments";
import { describeLeftovers, DESTROY_ATTEMPTS, StateResource } from "./aws/cleanup";
import { Command, CommandResult, Deps, Env, StepsContext, StepsHandle, StepsOutcome } from "./aws/deps";
import { devStack } from "./aws/devStack";
import { hourlyCost, planText } from "./aws/plan";
import { credentialSources } from "./aws/preflight";
import { main } from "./aws/runner";
import { stateEnv } from "./aws/stateBackend";
import { awsRefused, elbNameOf, ELB_HOSTNAME, firstOk, waitForAnswer } from "./aws/target";
import { LB_HOSTNAME, ROOT } from "../harness/mocks";

const STACK = "test-aws-20261126-0315-beef";
const HOME = "/home/tester";
const LB = "a0123456789abcdef0123456789abcde-1234567890.eu-west-1.elb.amazonaws.com";
const urn = (type: string, name: string) => `urn:pulumi:${STACK}::eks-nginx::${type}::${name}`;
const CREATED: StateResource[] = [
    { urn: urn("pulumi:pulumi:Stack", "eks-nginx-x"), type: "pulumi:pulumi:Stack", custom: false },
    { urn: urn("pulumi:providers:aws", "default_7_48_0"), type: "pulumi:providers:aws", id: "prov-1", custom: true },
    { urn: urn("aws:ec2/vpc:Vpc", "eks-nginx-x-vpc"), type: "aws:ec2/vpc:Vpc", id: "vpc-0abc", custom: true },
    { urn: urn("aws:eks/cluster:Cluster", "eks-nginx-x-eks-eksCluster"), type: "aws:eks/cluster:Cluster", id: "eks-nginx-x-eks-1234567", custom: true },
    { urn: urn("kubernetes:core/v1:Service", "sample-service"), type: "kubernetes:core/v1:Service", id: "default/sample-service", custom: true },
];
const PASSED: StepsOutcome = { code: 0, passed: 7, failed: 0, notRun: 0, total: 7, loadBalancer: LB };
const CREDENTIALS: Env = { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret", AWS_REGION: "eu-west-1" };

interface FakeOptions {
    env?: Env;
    files?: Record<string, string>;
    tools?: string[];
    tty?: boolean;
    answer?: string;
    /** Answers a command before the default model does; undefined: the default. */
    exec?: (c: Command, f: Fake) => CommandResult | undefined;
    /** The steps' process: by default it "creates" CREATED and passes. */
    steps?: (c: StepsContext, f: Fake) => StepsHandle;
}

interface Fake {
    deps: Deps;
    /** Every command and effect, in order: "pulumi destroy ...", "aws sts ...", "prepareWork new", "interrupt", ... */
    calls: string[];
    printed: string[];
    out: () => string;
    /** The stack as the fake backend holds it. */
    stack: { exists: boolean; resources: StateResource[]; pending: { type: string; urn: string; kind: string }[] };
    /** Deliver a signal to the runner's handler. */
    signal: (s: string) => void;
    handlers: number;
    destroyFailures: number;
    clock: number;
    envOf: (prefix: string) => Env[];
}

const ok = (stdout = ""): CommandResult => ({ code: 0, stdout, stderr: "" });
const fail = (stderr: string, code = 1): CommandResult => ({ code, stdout: "", stderr });
const tick = () => new Promise<void>((r) => setImmediate(r));

function fake(o: FakeOptions = {}): Fake {
    const envs: { call: string; env: Env }[] = [];
    let handler: ((s: string) => void) | undefined;
    const f: Fake = {
        calls: [],
        printed: [],
        out: () => f.printed.join("\n"),
        stack: { exists: false, resources: [], pending: [] },
        signal: (s) => handler?.(s),
        handlers: 0,
        destroyFailures: 0,
        clock: Date.UTC(2026, 10, 26, 3, 15),
        envOf: (prefix) => envs.filter((e) => e.call.startsWith(prefix)).map((e) => e.env),
        deps: undefined as unknown as Deps,
    };
    const model = (c: Command): CommandResult => {
        const args = c.args.filter((a) => a !== "--non-interactive");
        const line = args.join(" ");
        if (c.cmd === "aws" && line.startsWith("sts get-caller-identity")) {
            return ok(JSON.stringify({ Account: "123456789012", Arn: "arn:aws:iam::123456789012:user/tester", UserId: "AIDA" }));
        }
        if (c.cmd === "aws" && line.startsWith("elb describe-load-balancers")) {
            return fail(`An error occurred (LoadBalancerNotFound) when calling the DescribeLoadBalancers operation: There is no ACTIVE Load Balancer named '${args[3]}'`, 254);
        }
        if (c.cmd !== "pulumi") {
            return fail(`unexpected ${c.cmd}`, 127);
        }
        if (line.startsWith("stack init")) {
            if (f.stack.exists) {
                return fail(`error: stack '${args[2]}' already exists`);
            }
            f.stack.exists = true;
            return ok();
        }
        if (!f.stack.exists) {
            return fail(`error: no stack named '${STACK}' found`, 255);
        }
        if (line.startsWith("config get aws:region")) {
            return ok("eu-west-1\n");
        }
        if (line.startsWith("config set") || line.startsWith("cancel")) {
            return ok();
        }
        if (line.startsWith("stack export")) {
            return ok(JSON.stringify({ version: 3, deployment: { resources: f.stack.resources, ...(f.stack.pending.length ? { pending_operations:
                f.stack.pending.map((p) => ({ resource: { urn: p.urn, type: p.type }, type: p.kind })) } : {}) } }));
        }
        if (line.startsWith("destroy")) {
            f.stack.pending = [];
            if (f.destroyFailures > 0) {
                f.destroyFailures--;
                f.stack.resources = f.stack.resources.filter((r) => !r.type.startsWith("kubernetes:"));
                return fail("error: deleting subnet: DependencyViolation: The subnet has dependencies and cannot be deleted.");
            }
            f.stack.resources = [];
            return ok();
        }
        if (line.startsWith("stack rm")) {
            if (f.stack.resources.length > 0) {
                return fail(`error: '${STACK}' still has resources; removal rejected`);
            }
            f.stack.exists = false;
            return ok();
        }
        return fail(`unexpected pulumi ${line}`, 2);
    };
    const defaultSteps = (): StepsHandle => {
        f.stack.resources = [...CREATED];
        return { done: Promise.resolve(PASSED), interrupt: () => f.calls.push("interrupt"), kill: () => f.calls.push("kill") };
    };
    const files = o.files ?? {};
    const tools = o.tools ?? ["pulumi", "kubectl", "aws"];
    f.deps = {
        env: o.env ?? CREDENTIALS,
        repo: ROOT,
        home: HOME,
        print: (line) => f.printed.push(line),
        exec: async (c) => {
            const call = `${c.cmd} ${c.args.filter((a) => a !== "--non-interactive").join(" ")}`;
            f.calls.push(call);
            envs.push({ call, env: c.env ?? {} });
            await tick();
            return o.exec?.(c, f) ?? model(c);
        },
        which: (cmd) => (tools.includes(cmd) ? `/usr/bin/${cmd}` : undefined),
        // Pulumi.dev.yaml is the real one; everything else is the fake home's.
        readFile: (file) => (file.startsWith(ROOT) ? (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined) : files[file]),
        isTTY: o.tty ?? false,
        ask: async (q) => {
            f.calls.push(`ask ${q}`);
            return o.answer ?? "";
        },
        now: () => f.clock,
        sleep: (ms) => {
            f.clock += ms;
            return tick();
        },
        random: () => "beef",
        onSignal: (h) => {
            handler = h;
            f.handlers++;
            return () => {
                handler = undefined;
                f.handlers--;
            };
        },
        prepareWork: async (stack, _state, mode) => {
            f.calls.push(`prepareWork ${mode}`);
            return path.join(ROOT, ".test-aws", stack);
        },
        removeWork: () => f.calls.push("removeWork"),
        startSteps: (c) => {
            f.calls.push("startSteps");
            return (o.steps ?? defaultSteps)(c, f);
        },
        stepStopTimeoutMs: 30 * 60_000,
        destroyRetryWaitMs: 60_000,
    };
    return f;
}

const CREATE = [
    "aws sts get-caller-identity --output json",
    "prepareWork new",
    `pulumi stack init ${STACK} --secrets-provider passphrase`,
    `pulumi config set aws:region eu-west-1 --stack ${STACK}`,
    `pulumi config set --path cluster.tags.stage test-aws --stack ${STACK}`,
    `pulumi config set --path cluster.tags.test-stack ${STACK} --stack ${STACK}`,
    "startSteps",
];
const DESTROY = `pulumi destroy --yes --skip-preview --continue-on-error --stack ${STACK}`;
const EXPORT = `pulumi stack export --stack ${STACK}`;
const ELB_CHECK = "aws elb describe-load-balancers --load-balancer-names a0123456789abcdef0123456789abcde --region eu-west-1 --output json";
const CLEANUP = [EXPORT, DESTROY, EXPORT, ELB_CHECK, `pulumi stack rm ${STACK} --yes`, "removeWork"];

describe("npm run test:aws (without AWS)", () => {
    describe("arguments", () => {
        it("defaults: asks, region from the environment, a new stack name, DNS timeout 300 s", () => {
            assert.deepStrictEqual(parseArgs([]), { help: false, yes: false, dnsTimeoutSeconds: DEFAULT_DNS_TIMEOUT_SECONDS });
            assert.strictEqual(DEFAULT_DNS_TIMEOUT_SECONDS, 300);
        });

        it("takes every flag, as `--flag value` or `--flag=value`", () => {
            assert.deepStrictEqual(parseArgs(["--region", "eu-west-1", "--yes", "--stack", "test-aws-mine", "--dns-timeout=600"]),
                { help: false, yes: true, region: "eu-west-1", stack: "test-aws-mine", dnsTimeoutSeconds: 600 });
            assert.deepStrictEqual(parseArgs(["-y", "--cleanup=test-aws-old"]), { help: false, yes: true, dnsTimeoutSeconds: 300, cleanup: "test-aws-old" });
            assert.strictEqual(parseArgs(["-h"]).help, true);
            assert.strictEqual(parseArgs(["--region=us-gov-west-1"]).region, "us-gov-west-1");
        });

        const bad: [string[], RegExp][] = [
            [["--region"], /^--region needs a value: an AWS region, e\.g\. --region eu-west-1$/],
            [["--region", "--yes"], /^--region needs a value/],
            [["--region", "Europe"], /^--region Europe: not an AWS region name; expected e\.g\. us-east-1, eu-west-1, ap-northeast-1$/],
            [["--dns-timeout", "abc"], /^--dns-timeout abc: expected whole seconds from 10 to 3600$/],
            [["--dns-timeout", "5"], /^--dns-timeout 5: expected whole seconds from 10 to 3600$/],
            [["--dns-timeout=3601"], /^--dns-timeout 3601: expected whole seconds/],
            [["--dns-timeout", "1.5"], /^--dns-timeout 1\.5: expected whole seconds/],
            [["--stack", "dev"], /^--stack dev: expected test-aws-<lower-case letters, digits, hyphens>, at most 30 characters \(the prefix keeps the cleanup away from any other stack, such as dev or prod\)$/],
            [["--stack", "test-aws-Mine"], /^--stack test-aws-Mine: expected test-aws-/],
            [["--stack", `test-aws-${"x".repeat(22)}`], /^--stack test-aws-x+: expected/],
            [["--cleanup", "prod"], /^--cleanup prod: expected test-aws-/],
            [["--yes=no"], /^--yes takes no value$/],
            [["--yes", "--yes"], /^--yes is given twice$/],
            [["--bogus"], /^unknown flag --bogus; accepted: --region <region>, --yes, --stack <name>, --dns-timeout <seconds>, --cleanup <stack>, --help$/],
            [["us-east-1"], /^unexpected argument us-east-1; accepted: --region/],
            [["--cleanup", "test-aws-a", "--stack", "test-aws-b"], /^--cleanup and --stack: give one/],
        ];
        for (const [argv, message] of bad) {
            it(`refuses ${argv.join(" ")}, naming the flag and what it accepts`, () => {
                assert.throws(() => parseArgs(argv), (e: Error) => e instanceof UsageError && message.test(e.message));
            });
        }

        it("exits 2 on a bad argument before it checks or runs anything", async () => {
            const f = fake();
            assert.strictEqual(await main(["--region", "mars-1"], f.deps), 2);
            assert.deepStrictEqual(f.calls, []);
            assert.match(f.out(), /test:aws: --region mars-1: not an AWS region name[^]*npm run test:aws -- --help/);
        });

        it("--help prints the usage and runs nothing", async () => {
            const f = fake({ env: {} });
            assert.strictEqual(await main(["--help"], f.deps), 0);
            assert.deepStrictEqual(f.calls, []);
            assert.match(f.out(), /^usage: npm run test:aws -- \[--region <region>\] \[--yes\] \[--stack <name>\] \[--dns-timeout <seconds>\]/);
            assert.match(f.out(), /--cleanup <stack>/);
        });

        it("names a new stack test-aws-<UTC date>-<time>-<random>, a name it accepts as --stack", () => {
            const name = newStackName(Date.UTC(2026, 10, 26, 3, 15, 42), "beef");
            assert.strictEqual(name, STACK);
            assert.strictEqual(parseArgs(["--stack", name]).stack, name);
        });
    });

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

    describe("the plan and the confirmation", () => {
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
                "an EKS control plane: Kubernetes at EKS's default version, API authentication mode, public and private endpoint, " +
                    "Kubernetes secrets encrypted with a new KMS key (yearly rotation); control-plane logs to CloudWatch: none (dev's cluster.logTypes is empty)",
                "a managed node group: 3 × t2.micro (min 1, max 4; no autoscaler runs, so 3 stay), IMDSv2 required",
                "Deployment sample-deployment (nginx:1.28.0, then httpd:2.4), Service sample-service of type LoadBalancer: a Classic Load Balancer",
                "the KMS key, which AWS keeps scheduled for deletion for 30 days",
                "the run then destroys the stack, checks that it is empty, removes it, and lists what it could not remove",
            ]) {
                assert.ok(text.includes(expected), `plan says: ${expected}\n--- plan:\n${text}`);
            }
            assert.match(text, /EKS control plane\s+0\.100\/h/);
            assert.match(text, /3 × t2\.micro nodes\s+0\.035\/h\s+\(0\.0116 each\)/);
            assert.match(text, /1 NAT gateway\s+0\.045\/h\s+\(\+ 0\.045\/GB processed/);
            assert.match(text, /Classic Load Balancer\s+0\.025\/h/);
            assert.match(text, /3 public IPv4 addresses\s+0\.015\/h\s+\(NAT gateway 1, load balancer 2\)/);
            assert.match(text, /total\s+0\.228\/h/);
            assert.match(text, /about 35 minutes[^\n]*about USD 0\.\d\d per run/);
            assert.match(text, /AWS list prices as of 2025, not looked up at run time/);
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

        it("declined: creates nothing", async () => {
            for (const answer of ["n", "", "no thanks"]) {
                const f = fake({ tty: true, answer });
                assert.strictEqual(await main([], f.deps), 1);
                assert.deepStrictEqual(f.calls, ["aws sts get-caller-identity --output json", "ask Create these resources and run the tutorial on them? [y/N] "]);
                assert.match(f.out(), /test:aws: declined \(answer "[^"]*"\); nothing was created\./);
                assert.strictEqual(f.handlers, 0);
            }
        });

        it("confirmed with y or yes: creates the stack", async () => {
            for (const answer of ["y", "YES"]) {
                const f = fake({ tty: true, answer });
                assert.strictEqual(await main([], f.deps), 0);
                assert.ok(f.calls.includes("prepareWork new"));
            }
        });

        it("--yes: no question", async () => {
            const f = fake({ tty: true });
            assert.strictEqual(await main(["--yes"], f.deps), 0);
            assert.ok(!f.calls.some((c) => c.startsWith("ask")));
        });

        it("no terminal and no --yes: refuses, creates nothing", async () => {
            const f = fake({ tty: false });
            assert.strictEqual(await main([], f.deps), 1);
            assert.deepStrictEqual(f.calls, ["aws sts get-caller-identity --output json"]);
            assert.match(f.out(), /test:aws: stdin is not a terminal, so nobody can answer: pass --yes to run unattended; nothing was created\./);
        });
    });

    describe("the run and its cleanup (a fake pulumi and aws record the calls in order)", () => {
        it("passed: destroys, checks the stack and the load balancer are gone, removes the stack and the project copy", async () => {
            const f = fake();
            assert.strictEqual(await main(["--yes"], f.deps), 0);
            assert.deepStrictEqual(f.calls, [...CREATE, ...CLEANUP]);
            assert.match(f.out(), /test:aws: 7 passed, 0 failed \(of 7 steps\)\ntest:aws: cleanup: every resource destroyed, stack test-aws-20261126-0315-beef empty and removed/);
            assert.strictEqual(f.handlers, 0, "signal handlers removed");
            assert.strictEqual(f.stack.exists, false);
        });

        it("runs every pulumi command against the persistent state, with the passphrase and the region", async () => {
            const f = fake({ env: { ...CREDENTIALS, PULUMI_BACKEND_URL: "s3://team-state/eks-nginx", PULUMI_CONFIG_PASSPHRASE: "p" } });
            let steps: StepsContext | undefined;
            f.deps.startSteps = (c) => {
                steps = c;
                f.stack.resources = [...CREATED];
                return { done: Promise.resolve(PASSED), interrupt: () => undefined, kill: () => undefined };
            };
            assert.strictEqual(await main(["--yes", "--dns-timeout", "120"], f.deps), 0);
            for (const env of [...f.envOf("pulumi"), steps!.env]) {
                assert.strictEqual(env.PULUMI_BACKEND_URL, "s3://team-state/eks-nginx");
                assert.strictEqual(env.PULUMI_CONFIG_PASSPHRASE, "p");
                assert.strictEqual(env.AWS_REGION, "eu-west-1");
            }
            assert.deepStrictEqual({ ...steps, env: undefined }, { stack: STACK, dir: path.join(ROOT, ".test-aws", STACK), region: "eu-west-1", env: undefined, dnsTimeoutSeconds: 120 });
        });

        it("state: $PULUMI_BACKEND_URL, else .pulumi-state/ with npm run local's passphrase file", () => {
            assert.deepStrictEqual(stateEnv({}, "/repo"), { backend: "file:///repo/.pulumi-state", stateDir: "/repo/.pulumi-state",
                passphraseFile: "/repo/.pulumi-state/passphrase",
                env: { PULUMI_BACKEND_URL: "file:///repo/.pulumi-state", PULUMI_CONFIG_PASSPHRASE_FILE: "/repo/.pulumi-state/passphrase" } });
            assert.deepStrictEqual(stateEnv({ PULUMI_BACKEND_URL: "s3://b", PULUMI_CONFIG_PASSPHRASE_FILE: "/p" }, "/repo"),
                { backend: "s3://b", stateDir: undefined, env: { PULUMI_BACKEND_URL: "s3://b", PULUMI_CONFIG_PASSPHRASE_FILE: "/p" } });
        });

        it("a failing step: the same cleanup, exit 1, the steps not run counted", async () => {
            const f = fake({ steps: (_c, f) => {
                f.stack.resources = [...CREATED];
                return { done: Promise.resolve({ code: 1, passed: 1, failed: 1, notRun: 5, total: 7, loadBalancer: LB }), interrupt: () => undefined, kill: () => undefined };
            } });
            assert.strictEqual(await main(["--yes"], f.deps), 1);
            assert.deepStrictEqual(f.calls, [...CREATE, ...CLEANUP]);
            assert.match(f.out(), /test:aws: 1 passed, 1 failed, 5 not run \(of 7 steps\)\ntest:aws: cleanup: every resource destroyed/);
        });

        it("an exception (the steps' process cannot start): the cleanup still runs", async () => {
            const f = fake({ steps: (_c, f) => {
                f.stack.resources = [...CREATED];
                throw new Error("spawn node ENOENT");
            } });
            assert.strictEqual(await main(["--yes"], f.deps), 1);
            assert.deepStrictEqual(f.calls, [...CREATE, EXPORT, DESTROY, EXPORT, `pulumi stack rm ${STACK} --yes`, "removeWork"]);
            assert.match(f.out(), /\[test:aws\] error: spawn node ENOENT[^]*test:aws: no step ran \(spawn node ENOENT\)/);
        });

        it("an exception from the steps' process (it crashed): the cleanup still runs", async () => {
            const f = fake({ steps: (_c, f) => {
                f.stack.resources = [...CREATED];
                return { done: Promise.reject(new Error("steps.json unreadable")), interrupt: () => undefined, kill: () => undefined };
            } });
            assert.strictEqual(await main(["--yes"], f.deps), 1);
            assert.ok(f.calls.includes(DESTROY) && f.calls.includes(`pulumi stack rm ${STACK} --yes`), f.calls.join("\n"));
        });

        it("a failing pulumi config set after the stack exists: cleaned up (destroy, rm)", async () => {
            const f = fake({ exec: (c) => (c.args.includes("cluster.tags.stage") ? fail("error: config: boom") : undefined) });
            assert.strictEqual(await main(["--yes"], f.deps), 1);
            assert.deepStrictEqual(f.calls, [...CREATE.slice(0, 5), EXPORT, DESTROY, EXPORT, `pulumi stack rm ${STACK} --yes`, "removeWork"]);
        });

        it("stack init fails (the name exists): never destroys a stack it did not create", async () => {
            const f = fake();
            f.stack.exists = true;
            f.stack.resources = [...CREATED];
            assert.strictEqual(await main(["--yes", "--stack", STACK], f.deps), 1);
            assert.deepStrictEqual(f.calls, [...CREATE.slice(0, 3), "removeWork"]);
            assert.match(f.out(), /pulumi stack init test-aws-20261126-0315-beef failed: error: stack 'test-aws-20261126-0315-beef' already exists/);
            assert.strictEqual(f.stack.resources.length, CREATED.length);
        });

        function interruptible(f: Fake, onInterrupt: (resolve: (o: StepsOutcome) => void) => void = (r) => r({ code: 1, passed: 1, failed: 1, notRun: 5, total: 7, loadBalancer: LB })) {
            let resolve!: (o: StepsOutcome) => void;
            f.stack.resources = [...CREATED];
            const done = new Promise<StepsOutcome>((r) => (resolve = r));
            return { done, interrupt: () => {
                f.calls.push("interrupt");
                onInterrupt(resolve);
            }, kill: () => {
                f.calls.push("kill");
                resolve({ code: 137, passed: 1, failed: 0, notRun: 6, total: 7, loadBalancer: LB });
            } };
        }

        it("SIGINT during a step: the step is stopped, then pulumi cancel, destroy, check, stack rm; exit 130", async () => {
            const f = fake({ steps: (_c, f) => {
                setImmediate(() => f.signal("SIGINT"));
                return interruptible(f);
            } });
            assert.strictEqual(await main(["--yes"], f.deps), 130);
            assert.deepStrictEqual(f.calls, [...CREATE, "interrupt", `pulumi cancel --yes --stack ${STACK}`, ...CLEANUP]);
            assert.match(f.out(), /\[test:aws\] SIGINT: stopping\. pulumi finishes the operations in flight/);
            assert.match(f.out(), /interrupted by SIGINT/);
        });

        it("a second Ctrl-C does not skip the cleanup (and is not passed on: pulumi would abandon what it has in flight)", async () => {
            const f = fake({ steps: (_c, f) => {
                setImmediate(() => {
                    f.signal("SIGINT");
                    f.signal("SIGINT");
                    f.signal("SIGTERM");
                });
                return interruptible(f, (resolve) => setTimeout(() => resolve({ code: 1, passed: 0, failed: 1, notRun: 6, total: 7 }), 5));
            } });
            assert.strictEqual(await main(["--yes"], f.deps), 130);
            assert.strictEqual(f.calls.filter((c) => c === "interrupt").length, 1);
            assert.ok(f.calls.includes(DESTROY) && f.calls.includes(`pulumi stack rm ${STACK} --yes`));
            assert.match(f.out(), /SIGINT again: still stopping[^]*SIGTERM again: still stopping/);
        });

        it("SIGTERM: the same, exit 143", async () => {
            const f = fake({ steps: (_c, f) => {
                setImmediate(() => f.signal("SIGTERM"));
                return interruptible(f);
            } });
            assert.strictEqual(await main(["--yes"], f.deps), 143);
            assert.deepStrictEqual(f.calls, [...CREATE, "interrupt", `pulumi cancel --yes --stack ${STACK}`, ...CLEANUP]);
        });

        it("SIGINT during the stack's creation: no step starts, the stack is cleaned up", async () => {
            const f = fake({ exec: (c, f) => {
                if (c.args.includes("aws:region")) {
                    f.signal("SIGINT");
                }
                return undefined;
            } });
            assert.strictEqual(await main(["--yes"], f.deps), 130);
            assert.ok(!f.calls.includes("startSteps"));
            assert.ok(!f.calls.some((c) => c.includes("cluster.tags")), "no further setup command");
            assert.ok(f.calls.includes(DESTROY) && f.calls.includes(`pulumi stack rm ${STACK} --yes`));
        });

        it("a stopped step that does not end in time is killed, then cleaned up", async () => {
            const f = fake({ steps: (_c, f) => {
                setImmediate(() => f.signal("SIGINT"));
                return interruptible(f, () => undefined);
            } });
            const t0 = f.clock;
            assert.strictEqual(await main(["--yes"], f.deps), 130);
            assert.deepStrictEqual(f.calls.slice(CREATE.length, CREATE.length + 3), ["interrupt", "kill", `pulumi cancel --yes --stack ${STACK}`]);
            assert.ok(f.clock - t0 >= 30 * 60_000, "waited the stop timeout first");
            assert.match(f.out(), /has not ended after 30 min: killing it/);
        });

        it("signals during the cleanup: it goes on", async () => {
            const f = fake({ exec: (c, f) => {
                if (c.args[1] === "destroy") {
                    f.signal("SIGINT");
                    f.signal("SIGTERM");
                }
                return undefined;
            } });
            assert.strictEqual(await main(["--yes"], f.deps), 0);
            assert.deepStrictEqual(f.calls, [...CREATE, ...CLEANUP]);
            assert.match(f.out(), /SIGINT: the cleanup goes on until the stack is destroyed and removed/);
        });

        it("destroy fails every time: retried, the stack kept, each leftover listed with type and id; exit 3", async () => {
            const f = fake();
            f.destroyFailures = DESTROY_ATTEMPTS;
            const t0 = f.clock;
            assert.strictEqual(await main(["--yes"], f.deps), 3);
            assert.strictEqual(f.calls.filter((c) => c === DESTROY || c.startsWith("pulumi destroy")).length, DESTROY_ATTEMPTS);
            assert.ok(!f.calls.some((c) => c.startsWith("pulumi stack rm")), "stack kept for a retry");
            assert.ok(!f.calls.includes("removeWork"), "project copy kept");
            assert.ok(f.clock - t0 >= (DESTROY_ATTEMPTS - 1) * 60_000, "waited between attempts");
            const out = f.out();
            assert.match(out, /test:aws: LEFT BEHIND after the cleanup \(they cost money until removed\):/);
            assert.match(out, / {2}- aws:ec2\/vpc:Vpc vpc-0abc \(eks-nginx-x-vpc\)/);
            assert.match(out, / {2}- aws:eks\/cluster:Cluster eks-nginx-x-eks-1234567 \(eks-nginx-x-eks-eksCluster\)/);
            assert.match(out, / {2}- 2 component or provider entries in the stack/);
            assert.match(out, new RegExp(`retry: npm run test:aws -- --cleanup ${STACK} --region eu-west-1   \\(project copy and stack config kept in `));
        });

        it("destroy fails once (a subnet still in use): the retry finishes the job", async () => {
            const f = fake();
            f.destroyFailures = 1;
            assert.strictEqual(await main(["--yes"], f.deps), 0);
            assert.strictEqual(f.calls.filter((c) => c.startsWith("pulumi destroy")).length, 2);
            assert.ok(f.calls.includes(`pulumi stack rm ${STACK} --yes`));
        });

        it("Kubernetes objects left while their EKS cluster is gone: the retry lets the provider drop them", async () => {
            const f = fake({ steps: (_c, f) => {
                f.stack.resources = CREATED.filter((r) => r.type !== "aws:eks/cluster:Cluster");
                return { done: Promise.resolve(PASSED), interrupt: () => undefined, kill: () => undefined };
            }, exec: (c, f) => {
                if (c.args[1] === "destroy" && !c.env?.PULUMI_K8S_DELETE_UNREACHABLE) {
                    return fail("error: configured Kubernetes cluster is unreachable");
                }
                if (c.args[1] === "destroy") {
                    f.stack.resources = [];
                    return ok();
                }
                return undefined;
            } });
            assert.strictEqual(await main(["--yes"], f.deps), 0);
            assert.deepStrictEqual(f.envOf("pulumi destroy").map((e) => e.PULUMI_K8S_DELETE_UNREACHABLE), [undefined, "true"]);
        });

        it("operations pulumi had in flight when it was killed are listed as possible leftovers", async () => {
            const f = fake({ steps: (_c, f) => {
                setImmediate(() => f.signal("SIGINT"));
                f.stack.pending = [{ type: "aws:eks/cluster:Cluster", urn: urn("aws:eks/cluster:Cluster", "eks-nginx-x-eks-eksCluster"), kind: "creating" }];
                return interruptible(f, () => undefined);
            } });
            assert.strictEqual(await main(["--yes"], f.deps), 3);
            assert.match(f.out(), / {2}- possibly in AWS but not in the stack: aws:eks\/cluster:Cluster eks-nginx-x-eks-eksCluster was being created when pulumi was killed/);
            assert.ok(f.calls.includes(`pulumi stack rm ${STACK} --yes`), "the stack itself is empty and removed");
        });

        it("the load balancer Kubernetes made is still there after destroy: listed with the command that deletes it", async () => {
            const f = fake({ exec: (c) => (c.args[0] === "elb" ? ok(JSON.stringify({ LoadBalancerDescriptions: [{}] })) : undefined) });
            assert.strictEqual(await main(["--yes"], f.deps), 3);
            assert.strictEqual(f.calls.filter((c) => c === ELB_CHECK).length, 6, "checked for a minute");
            assert.match(f.out(), / {2}- Classic Load Balancer a0123456789abcdef0123456789abcde \(made by Kubernetes for sample-service, not in the stack[^\n]*aws elb delete-load-balancer --load-balancer-name a0123456789abcdef0123456789abcde --region eu-west-1/);
        });

        it("stack rm fails: the empty stack is a leftover", async () => {
            const f = fake({ exec: (c) => (c.args[1] === "stack" && c.args[2] === "rm" ? fail("error: could not remove stack: permission denied") : undefined) });
            assert.strictEqual(await main(["--yes"], f.deps), 3);
            assert.match(f.out(), / {2}- the stack test-aws-20261126-0315-beef itself \(empty\): pulumi stack rm failed: error: could not remove stack: permission denied/);
        });

        it("--cleanup <stack>: a stack an interrupted run left is destroyed and removed, after a confirmation", async () => {
            const f = fake({ tty: true, answer: "y", env: { AWS_ACCESS_KEY_ID: "A", AWS_SECRET_ACCESS_KEY: "S" } });
            f.stack.exists = true;
            f.stack.resources = [...CREATED];
            assert.strictEqual(await main(["--cleanup", STACK], f.deps), 0);
            assert.deepStrictEqual(f.calls, ["aws sts get-caller-identity --output json", "prepareWork cleanup", EXPORT, `pulumi config get aws:region --stack ${STACK}`,
                `ask Destroy stack ${STACK}? [y/N] `, `pulumi cancel --yes --stack ${STACK}`, EXPORT, DESTROY, EXPORT, `pulumi stack rm ${STACK} --yes`, "removeWork"]);
            assert.match(f.out(), /test:aws will destroy stack test-aws-20261126-0315-beef \([^)]*, region eu-west-1\) and remove it:\n {2}- aws:ec2\/vpc:Vpc vpc-0abc/);
        });

        it("--cleanup of a stack that does not exist: says so, changes nothing", async () => {
            const f = fake({ env: { ...CREDENTIALS } });
            assert.strictEqual(await main(["--cleanup", STACK, "--yes"], f.deps), 1);
            assert.match(f.out(), /no stack test-aws-20261126-0315-beef to clean up in file:\/\/[^:]*: error: no stack named/);
            assert.ok(!f.calls.some((c) => c.startsWith("pulumi destroy")));
        });

        it("lists leftovers by type, id and name; providers and components only counted", () => {
            assert.deepStrictEqual(describeLeftovers(CREATED), [
                "aws:ec2/vpc:Vpc vpc-0abc (eks-nginx-x-vpc)",
                "aws:eks/cluster:Cluster eks-nginx-x-eks-1234567 (eks-nginx-x-eks-eksCluster)",
                "kubernetes:core/v1:Service default/sample-service (sample-service)",
                "2 component or provider entries in the stack (nothing in AWS by themselves)",
            ]);
        });
    });

    describe("the AWS target of the tutorial", () => {
        it("recognises a Classic Load Balancer's hostname and the load balancer it names", () => {
            assert.match(LB_HOSTNAME, ELB_HOSTNAME);
            assert.strictEqual(elbNameOf(LB), "a0123456789abcdef0123456789abcde");
            assert.strictEqual(elbNameOf("internal-a01-99.us-east-1.elb.amazonaws.com"), "a01");
            assert.strictEqual(elbNameOf("127.96.0.1"), undefined);
            assert.strictEqual(elbNameOf("a01-abc.elb.us-east-1.amazonaws.com"), undefined, "an NLB's hostname is not a CLB's");
        });

        it("counts refused, reset, a name gone from DNS and silence as nothing serving; any HTTP answer as serving", () => {
            for (const error of ["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "no answer within 5000 ms"]) {
                assert.ok(awsRefused({ status: 0, body: "", error }), error);
            }
            assert.ok(!awsRefused({ status: 503, body: "" }));
            assert.ok(!awsRefused({ status: 200, body: "x" }));
            assert.ok(!awsRefused({ status: 0, body: "", error: "EPROTO" }));
        });

        function fakeHttp(answers: Answer[]) {
            let clock = 0;
            const urls: string[] = [];
            return {
                urls,
                clock: () => clock,
                o: {
                    get: async (url: string) => {
                        urls.push(url);
                        return answers.length > 1 ? answers.shift()! : answers[0];
                    },
                    sleep: async (ms: number) => {
                        clock += ms;
                    },
                    now: () => clock,
                },
            };
        }

        it("waits for the load balancer's DNS name and first 200, polling", async () => {
            const h = fakeHttp([{ status: 0, body: "", error: "ENOTFOUND" }, { status: 0, body: "", error: "ENOTFOUND" },
                { status: 0, body: "", error: "ECONNREFUSED" }, { status: 200, body: "<title>Welcome to nginx!</title>" }]);
            const logs: string[] = [];
            const a = await waitForAnswer("http://lb:80", firstOk, { timeoutMs: 300_000, intervalMs: 20_000, log: (m) => logs.push(m), ...h.o });
            assert.strictEqual(a.status, 200);
            assert.strictEqual(h.urls.length, 4);
            assert.deepStrictEqual(logs, ["http://lb:80: ECONNREFUSED after 40 s (waiting up to 300 s)"]);
        });

        it("gives up after the timeout with the last answer (the check then fails with it)", async () => {
            const h = fakeHttp([{ status: 0, body: "", error: "ENOTFOUND" }]);
            const a = await waitForAnswer("http://lb:80", firstOk, { timeoutMs: 300_000, ...h.o });
            assert.strictEqual(a.error, "ENOTFOUND");
            assert.ok(h.clock() >= 300_000 && h.clock() < 310_000, `${h.clock()}`);
        });

        it("stops waiting when the run stops", async () => {
            const h = fakeHttp([{ status: 0, body: "", error: "ENOTFOUND" }]);
            const a = await waitForAnswer("http://lb:80", firstOk, { timeoutMs: 300_000, stopped: () => true, ...h.o });
            assert.strictEqual(a.error, "ENOTFOUND");
            assert.strictEqual(h.urls.length, 1);
        });

        it("waits for an address to stop answering (the load balancer lets go after destroy)", async () => {
            const h = fakeHttp([{ status: 503, body: "" }, { status: 0, body: "", error: "ENOTFOUND" }]);
            const a = await waitForAnswer("http://lb:8080", awsRefused, { timeoutMs: 120_000, ...h.o });
            assert.strictEqual(a.error, "ENOTFOUND");
        });

        it("the runner's files are not unit tests (npm test runs tests/**/*.test.ts only)", () => {
            const files = fs.readdirSync(path.join(ROOT, "tests", "aws"));
            assert.ok(files.includes("runner.ts") && files.includes("steps.ts") && files.includes("main.ts"));
            assert.ok(files.every((f) => !f.endsWith(".test.ts")), files.join(", "));
            assert.deepStrictEqual(JSON.parse(fs.readFileSync(path.join(ROOT, ".mocharc.json"), "utf8")).spec, ["tests/**/*.test.ts"]);
        });
    });
});

/**
 * The real runner (tests/aws/main.ts: processes, process groups, signals, the project copy, the steps' process with
 * the harness and the tutorial), with fake `pulumi`, `aws` and `kubectl` first on PATH that log their arguments.
 */
describe("npm run test:aws's real processes, with fake pulumi, aws and kubectl", function () {
    this.timeout(30_000);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "eks-nginx-test-aws-"));
    const bin = path.join(tmp, "bin");
    const log = path.join(tmp, "calls.log");
    const stack = `test-aws-unit-${process.pid}`;
    const copy = path.join(ROOT, ".test-aws", stack);
    const script = (body: string) => `#!/usr/bin/env bash\necho "$(basename "$0") $*" >> "${log}"\n${body}\n`;

    before(() => {
        fs.mkdirSync(bin);
        // pulumi: `up` runs until SIGINT, then cancels ("gracefully": exits 255 like a cancelled update); export says what
        // the stack holds (a VPC until destroy).
        fs.writeFileSync(path.join(bin, "pulumi"), script(`
case " $* " in
  *" up "*) [ "$FAKE_UP" = ok ] && exit 0
      trap 'echo "pulumi got SIGINT: cancelling" >> "${log}"; exit 255' INT; for _ in $(seq 200); do sleep 0.05; done; exit 1 ;;
  *" stack output kubeconfig "*) echo '{"apiVersion":"v1","kind":"Config"}' ;;
  *" stack output clusterName "*) echo eks-nginx-test-aws-unit-eks-eksCluster-1234567 ;;
  *" stack output url "*) echo "http://${LB}:80" ;;
  *" stack export "*) if [ -f "${tmp}/destroyed" ]; then echo '{"version":3,"deployment":{}}'; else
      echo '{"version":3,"deployment":{"resources":[{"urn":"urn:pulumi:s::eks-nginx::aws:ec2/vpc:Vpc::v","type":"aws:ec2/vpc:Vpc","id":"vpc-1","custom":true}]}}'; fi ;;
  *" destroy "*) touch "${tmp}/destroyed" ;;
esac
exit 0`), { mode: 0o755 });
        fs.writeFileSync(path.join(bin, "aws"), script(`
if [ -z "$AWS_ACCESS_KEY_ID" ]; then echo 'Unable to locate credentials. You can configure credentials by running "aws configure".' >&2; exit 253; fi
case " $* " in
  *" elb describe-load-balancers "*) echo "An error occurred (LoadBalancerNotFound) when calling the DescribeLoadBalancers operation: There is no ACTIVE Load Balancer named '$4'" >&2; exit 254 ;;
esac
echo '{"UserId":"AIDA","Account":"123456789012","Arn":"arn:aws:iam::123456789012:user/tester"}'`), { mode: 0o755 });
        // kubectl: says how readable the kubeconfig it was given is, then fails (no cluster).
        fs.writeFileSync(path.join(bin, "kubectl"), script(`
while [ $# -gt 0 ]; do [ "$1" = --kubeconfig ] && echo "kubectl: kubeconfig mode $(stat -c %a "$2")" >> "${log}"; shift; done
echo 'error: the server has asked for the client to provide credentials' >&2; exit 1`), { mode: 0o755 });
    });
    const started: ChildProcess[] = [];
    after(() => {
        started.filter((c) => c.exitCode === null && c.signalCode === null).forEach((c) => c.kill("SIGKILL"));
        fs.rmSync(tmp, { recursive: true, force: true });
        fs.rmSync(copy, { recursive: true, force: true });
    });

    function start(args: string[], env: Env) {
        fs.rmSync(log, { force: true });
        fs.rmSync(path.join(tmp, "destroyed"), { force: true });
        const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "tests", "aws", "main.ts"), ...args], {
            cwd: ROOT,
            env: { PATH: `${bin}:${path.dirname(process.execPath)}:/usr/bin:/bin`, HOME: tmp, PULUMI_BACKEND_URL: `file://${tmp}/state`, LB,
                PULUMI_CONFIG_PASSPHRASE: "unit", ...env } as NodeJS.ProcessEnv,
            stdio: ["ignore", "pipe", "pipe"],
        });
        started.push(child);
        let out = "";
        child.stdout!.on("data", (d) => (out += d));
        child.stderr!.on("data", (d) => (out += d));
        const exit = new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? -1)));
        return { child, exit, out: () => out };
    }
    const calls = () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : []);

    it("without credentials: exits 1 with the reason, and nothing is created", async () => {
        const run = start(["--region", "eu-west-1"], {});
        assert.strictEqual(await run.exit, 1, run.out());
        assert.match(run.out(), /test:aws: cannot start; nothing was created:\n {2}- no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set/);
        assert.deepStrictEqual(calls(), ["aws sts get-caller-identity --output json"]);
        assert.ok(!fs.existsSync(copy) && !fs.existsSync(path.join(tmp, "state")));
    });

    it("a failing step: the kubeconfig (mode 600) and the load balancer from the stack's outputs; destroy, the load balancer checked, stack rm", async () => {
        const run = start(["--yes", "--region", "eu-west-1", "--stack", stack], { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret", FAKE_UP: "ok" });
        assert.strictEqual(await run.exit, 1, run.out());
        const p = (rest: string) => `pulumi --non-interactive ${rest}`;
        assert.deepStrictEqual(calls().slice(5), [
            p(`stack select ${stack}`),
            p("up --yes"),
            "pulumi stack output kubeconfig --show-secrets",
            "pulumi stack output clusterName",
            "pulumi stack output url",
            "kubectl --kubeconfig " + path.join(copy, "kubeconfig") + " --request-timeout=10s get deployment sample-deployment -n default -o json",
            "kubectl: kubeconfig mode 600",
            p(`stack export --stack ${stack}`),
            p(`destroy --yes --skip-preview --continue-on-error --stack ${stack}`),
            p(`stack export --stack ${stack}`),
            `aws elb describe-load-balancers --load-balancer-names a0123456789abcdef0123456789abcde --region eu-west-1 --output json`,
            p(`stack rm ${stack} --yes`),
        ]);
        assert.match(run.out(), /\[FAIL\] 1\. pulumi up[^]*\[not run\] 7\. pulumi destroy/);
        assert.match(run.out(), /test:aws: 0 passed, 1 failed, 6 not run \(of 7 steps\)\ntest:aws: cleanup: every resource destroyed/);
        assert.ok(!fs.existsSync(copy), "project copy (with the kubeconfig) removed");
    });

    it("Ctrl-C during pulumi up: the pulumi CLI gets SIGINT and cancels, no further step runs, then cancel, destroy, check, stack rm", async () => {
        const run = start(["--yes", "--region", "eu-west-1", "--stack", stack], { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret" });
        for (let i = 0; i < 400 && !calls().some((c) => c.startsWith("pulumi --non-interactive up")); i++) {
            await new Promise((r) => setTimeout(r, 25));
        }
        assert.ok(fs.statSync(path.join(copy, `Pulumi.${stack}.yaml`)).isFile(), "the stack's config, from Pulumi.dev.yaml, in the project copy");
        // A Ctrl-C under npm arrives twice (the terminal's, and npm's forwarded copy): one stop.
        run.child.kill("SIGINT");
        run.child.kill("SIGINT");
        assert.strictEqual(await run.exit, 130, run.out());
        const p = (rest: string) => `pulumi --non-interactive ${rest}`;
        assert.deepStrictEqual(calls(), [
            "aws sts get-caller-identity --output json",
            p(`stack init ${stack} --secrets-provider passphrase`),
            p(`config set aws:region eu-west-1 --stack ${stack}`),
            p(`config set --path cluster.tags.stage test-aws --stack ${stack}`),
            p(`config set --path cluster.tags.test-stack ${stack} --stack ${stack}`),
            p(`stack select ${stack}`),
            p("up --yes"),
            "pulumi got SIGINT: cancelling",
            p(`cancel --yes --stack ${stack}`),
            p(`stack export --stack ${stack}`),
            p(`destroy --yes --skip-preview --continue-on-error --stack ${stack}`),
            p(`stack export --stack ${stack}`),
            p(`stack rm ${stack} --yes`),
        ]);
        const out = run.out();
        assert.match(out, /\[test:aws\] SIGINT: stopping/);
        assert.doesNotMatch(out, /SIGINT again/);
        assert.match(out, /\[not run\] 2\. pulumi config set replicas 3/);
        assert.match(out, /test:aws: 0 passed, 1 failed, 6 not run \(of 7 steps\); interrupted by SIGINT\ntest:aws: cleanup: every resource destroyed, stack test-aws-unit-\d+ empty and removed/);
        assert.ok(!fs.existsSync(copy), "project copy removed");
    });
});
