/**
 * The fakes of npm run test:aws's unit tests (tests/aws/*.test.ts): a Deps whose pulumi and aws answer as a small
 * model of a backend and of AWS, recording every command and effect in order; the stack's resources; the calls a
 * run and its cleanup make; steps that can be interrupted. Nothing is made or started on import.
 */
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../../harness/mocks";
import { StateResource } from "./cleanup";
import { Command, CommandResult, Deps, Env, StepsContext, StepsHandle, StepsOutcome } from "./deps";

export const STACK = "test-aws-20261126-0315-beef";
export const HOME = "/home/tester";
export const LB = "a0123456789abcdef0123456789abcde-1234567890.eu-west-1.elb.amazonaws.com";
export const urn = (type: string, name: string) => `urn:pulumi:${STACK}::eks-nginx::${type}::${name}`;
export const CREATED: StateResource[] = [
    { urn: urn("pulumi:pulumi:Stack", "eks-nginx-x"), type: "pulumi:pulumi:Stack", custom: false },
    { urn: urn("pulumi:providers:aws", "default_7_48_0"), type: "pulumi:providers:aws", id: "prov-1", custom: true },
    { urn: urn("aws:ec2/vpc:Vpc", "eks-nginx-x-vpc"), type: "aws:ec2/vpc:Vpc", id: "vpc-0abc", custom: true },
    { urn: urn("aws:eks/cluster:Cluster", "eks-nginx-x-eks-eksCluster"), type: "aws:eks/cluster:Cluster", id: "eks-nginx-x-eks-1234567", custom: true },
    { urn: urn("kubernetes:core/v1:Service", "sample-service"), type: "kubernetes:core/v1:Service", id: "default/sample-service", custom: true },
];
export const PASSED: StepsOutcome = { code: 0, passed: 7, failed: 0, notRun: 0, total: 7, loadBalancer: LB };
export const CREDENTIALS: Env = { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret", AWS_REGION: "eu-west-1" };

export interface FakeOptions {
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

export interface Fake {
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

export const ok = (stdout = ""): CommandResult => ({ code: 0, stdout, stderr: "" });
export const fail = (stderr: string, code = 1): CommandResult => ({ code, stdout: "", stderr });
const tick = () => new Promise<void>((r) => setImmediate(r));

export function fake(o: FakeOptions = {}): Fake {
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

export const CREATE = [
    "aws sts get-caller-identity --output json",
    "prepareWork new",
    `pulumi stack init ${STACK} --secrets-provider passphrase`,
    `pulumi config set aws:region eu-west-1 --stack ${STACK}`,
    `pulumi config set --path cluster.tags.stage test-aws --stack ${STACK}`,
    `pulumi config set --path cluster.tags.test-stack ${STACK} --stack ${STACK}`,
    "startSteps",
];
export const DESTROY = `pulumi destroy --yes --skip-preview --continue-on-error --stack ${STACK}`;
export const EXPORT = `pulumi stack export --stack ${STACK}`;
export const ELB_CHECK = "aws elb describe-load-balancers --load-balancer-names a0123456789abcdef0123456789abcde --region eu-west-1 --output json";
export const CLEANUP = [EXPORT, DESTROY, EXPORT, ELB_CHECK, `pulumi stack rm ${STACK} --yes`, "removeWork"];

/** Steps that run until interrupted; `onInterrupt` decides how they end (by default: one passed, one failed). */
export function interruptible(f: Fake, onInterrupt: (resolve: (o: StepsOutcome) => void) => void = (r) => r({ code: 1, passed: 1, failed: 1, notRun: 5, total: 7, loadBalancer: LB })) {
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
