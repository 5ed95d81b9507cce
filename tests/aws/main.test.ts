/**
 * npm run test:aws's real processes (tests/aws/main.ts), and which of its files the unit suite runs.
 */
import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../../harness/mocks";
import { Env } from "./deps";
import { LB } from "./fakes";

describe("npm run test:aws's files", () => {
    it("the runner's own files are not unit tests (npm test runs tests/**/*.test.ts only): each test file sits beside its part", () => {
        const files = fs.readdirSync(path.join(ROOT, "tests", "aws"));
        assert.ok(files.includes("runner.ts") && files.includes("steps.ts") && files.includes("main.ts"));
        const tests = files.filter((f) => f.endsWith(".test.ts"));
        assert.ok(tests.length > 0 && tests.every((f) => files.includes(f.replace(/\.test\.ts$/, ".ts"))), files.join(", "));
        assert.deepStrictEqual(JSON.parse(fs.readFileSync(path.join(ROOT, ".mocharc.json"), "utf8")).spec, ["tests/**/*.test.ts"]);
    });
});

/**
 * The real runner (tests/aws/main.ts: processes, process groups, signals, the project copy, the steps' process with
 * the harness and the tutorial), with fake `pulumi`, `aws` and `kubectl` first on PATH that log their arguments.
 */
describe("npm run test:aws's real processes, with fake pulumi, aws and kubectl", function () {
    this.timeout(30_000);
    // The fake commands' folder and their log: made when the tests start, not when mocha loads this file.
    let tmp = "";
    let bin = "";
    let log = "";
    const stack = `test-aws-unit-${process.pid}`;
    const copy = path.join(ROOT, ".test-aws", stack);
    const script = (body: string) => `#!/usr/bin/env bash\necho "$(basename "$0") $*" >> "${log}"\n${body}\n`;

    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "eks-nginx-test-aws-"));
        bin = path.join(tmp, "bin");
        log = path.join(tmp, "calls.log");
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
        if (tmp) {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
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
