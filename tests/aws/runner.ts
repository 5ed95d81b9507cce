/**
 * npm run test:aws, apart from AWS: the arguments, the checks before anything is created (tools, credentials,
 * region), the plan with its rough cost, the confirmation, the stack's creation, and the cleanup that follows
 * whatever happens (a failed step, an exception, SIGINT/SIGTERM/SIGHUP): destroy, check that the stack is empty,
 * remove it, and list what could not be removed. Every effect goes through `Deps` (commands, prompt, environment,
 * files, clock, signals, the steps' process), so the unit suite (tests/awsRun.test.ts) runs all of it with fakes.
 *
 * tests/aws/main.ts gives the real dependencies; tests/aws/steps.ts runs the tutorial's steps in a process of its
 * own (so that this one stays responsive to signals while a `pulumi up` runs).
 */
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { readStack, StackSettings } from "../../stacks/stack";
import { elbNameOf } from "./target";

export type Env = Record<string, string | undefined>;

export const STACK_PREFIX = "test-aws-";
/** Project + stack name prefix the names of IAM roles (64 characters at most), node groups (63), ...: keep it short. */
const STACK_NAME = /^test-aws-[a-z0-9][a-z0-9-]{0,20}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
export const DEFAULT_DNS_TIMEOUT_SECONDS = 300;
/** How long a stopped step may take to finish what pulumi has in flight (creating an EKS cluster takes ~10 min). */
export const STEP_STOP_TIMEOUT_MS = 30 * 60_000;
export const DESTROY_ATTEMPTS = 3;
export const DESTROY_RETRY_WAIT_MS = 60_000;
/** A run's wall time, for the cost estimate: pulumi up ~15-20 min, the checks ~5, pulumi destroy ~10-15. */
export const RUN_MINUTES = 35;
/** The images of the tutorial's swap on AWS: the project's default image (dev sets none), then the official httpd. */
export const HTTPD_IMAGE = "httpd:2.4";
export const USAGE = `usage: npm run test:aws -- [--region <region>] [--yes] [--stack <name>] [--dns-timeout <seconds>]
       npm run test:aws -- --cleanup <stack> [--yes]

The tutorial's scenario (tests/e2e/tutorial.ts, the steps npm run test:e2e runs on the embedded cluster) on a new
stack in AWS made from Pulumi.dev.yaml: an EKS cluster with 3 t2.micro nodes, nginx behind a Classic Load Balancer,
checked over HTTP. It costs money (about USD 0.25 an hour, for about ${RUN_MINUTES} minutes): it prints what it will create
and the rough cost, and asks first. Whatever happens (a failed step, an error, Ctrl-C), it then destroys what it
created, checks that the stack is empty, removes it, and lists what it could not remove.

  --region <region>         AWS region; default $AWS_REGION, then $AWS_DEFAULT_REGION (one of them or the flag is needed)
  --yes, -y                 do not ask (unattended runs); without it, stdin must be a terminal
  --stack <name>            name of the new stack: test-aws-<lower-case letters, digits, hyphens>, at most 30 characters
                            (default test-aws-<UTC date>-<time>-<random>); the stack must not exist yet
  --dns-timeout <seconds>   how long to wait for the load balancer's DNS name and first answer, 10-3600 (default ${DEFAULT_DNS_TIMEOUT_SECONDS})
  --cleanup <stack>         destroy and remove a test-aws-... stack that an interrupted run left (no run may still be
                            using it: this removes its lock), and list what is left
  --help, -h                this text

Needs AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or ~/.aws), the aws CLI (the cluster's
kubeconfig runs aws eks get-token), pulumi and kubectl on PATH (npm run toolchain) and node_modules (npm ci).
State: $PULUMI_BACKEND_URL, else .pulumi-state/ with the passphrase npm run local uses.
Exit status: 0 every step passed and nothing is left; 1 a step failed, or it refused to start; 2 bad arguments;
3 something could not be removed (listed); 130/143/129 interrupted by SIGINT/SIGTERM/SIGHUP, and cleaned up.`;

// ---------------------------------------------------------------------------------------------------------------
// Arguments

export interface Options {
    help: boolean;
    yes: boolean;
    region?: string;
    stack?: string;
    dnsTimeoutSeconds: number;
    /** Clean this stack up instead of running the tutorial. */
    cleanup?: string;
}

export class UsageError extends Error {}

const VALUE_FLAGS: Record<string, string> = {
    "--region": "an AWS region, e.g. --region eu-west-1",
    "--stack": "a stack name, e.g. --stack test-aws-mine",
    "--dns-timeout": "seconds, e.g. --dns-timeout 600",
    "--cleanup": "the stack to clean up, e.g. --cleanup test-aws-20261126-0315-ab12",
};
const ACCEPTED = "--region <region>, --yes, --stack <name>, --dns-timeout <seconds>, --cleanup <stack>, --help";

function checkStackName(flag: string, name: string): string {
    if (!STACK_NAME.test(name)) {
        throw new UsageError(`${flag} ${name}: expected ${STACK_PREFIX}<lower-case letters, digits, hyphens>, at most 30 characters ` +
            `(the prefix keeps the cleanup away from any other stack, such as dev or prod)`);
    }
    return name;
}

export function parseArgs(argv: string[]): Options {
    const o: Options = { help: false, yes: false, dnsTimeoutSeconds: DEFAULT_DNS_TIMEOUT_SECONDS };
    const seen = new Set<string>();
    for (let i = 0; i < argv.length; i++) {
        let flag = argv[i];
        let value: string | undefined;
        const eq = flag.indexOf("=");
        if (flag.startsWith("--") && eq > 0) {
            value = flag.slice(eq + 1);
            flag = flag.slice(0, eq);
        }
        if (seen.has(flag)) {
            throw new UsageError(`${flag} is given twice`);
        }
        seen.add(flag);
        if (flag === "--help" || flag === "-h" || flag === "--yes" || flag === "-y") {
            if (value !== undefined) {
                throw new UsageError(`${flag} takes no value`);
            }
            if (flag === "--help" || flag === "-h") {
                o.help = true;
            } else {
                o.yes = true;
            }
            continue;
        }
        if (!(flag in VALUE_FLAGS)) {
            throw new UsageError(flag.startsWith("-") ? `unknown flag ${flag}; accepted: ${ACCEPTED}` : `unexpected argument ${flag}; accepted: ${ACCEPTED}`);
        }
        if (value === undefined) {
            value = argv[++i];
            if (value === undefined || value.startsWith("-")) {
                throw new UsageError(`${flag} needs a value: ${VALUE_FLAGS[flag]}`);
            }
        }
        switch (flag) {
            case "--region":
                if (!REGION.test(value)) {
                    throw new UsageError(`--region ${value}: not an AWS region name; expected e.g. us-east-1, eu-west-1, ap-northeast-1`);
                }
                o.region = value;
                break;
            case "--stack":
                o.stack = checkStackName(flag, value);
                break;
            case "--cleanup":
                o.cleanup = checkStackName(flag, value);
                break;
            case "--dns-timeout": {
                const n = Number(value);
                if (!/^\d+$/.test(value) || n < 10 || n > 3600) {
                    throw new UsageError(`--dns-timeout ${value}: expected whole seconds from 10 to 3600`);
                }
                o.dnsTimeoutSeconds = n;
                break;
            }
        }
    }
    if (o.cleanup && o.stack) {
        throw new UsageError("--cleanup and --stack: give one (--cleanup names the stack to clean up)");
    }
    return o;
}

/** test-aws-<UTC yyyymmdd>-<hhmm>-<4 random hex>: sorts by time, unique enough, 27 characters. */
export function newStackName(nowMs: number, random: string): string {
    const iso = new Date(nowMs).toISOString();
    return `${STACK_PREFIX}${iso.slice(0, 10).replace(/-/g, "")}-${iso.slice(11, 16).replace(":", "")}-${random}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Dependencies

export interface Command {
    cmd: string;
    args: string[];
    cwd?: string;
    env?: Env;
    /** Show the output as it comes (pulumi destroy); it is captured either way. */
    echo?: boolean;
    timeoutMs?: number;
}

export interface CommandResult {
    /** Exit status; 127 when the command could not start, 128 + n when signal n ended it. */
    code: number;
    stdout: string;
    stderr: string;
}

export interface StepsOutcome {
    /** Exit status of the steps' process (128 + n for signal n). */
    code: number;
    passed: number;
    failed: number;
    /** Steps not started: after a failed step (each builds on the previous one) or a signal. */
    notRun: number;
    total: number;
    /** The load balancer's hostname, once step 1 saw it (the cleanup checks that it is gone). */
    loadBalancer?: string;
}

export interface StepsHandle {
    done: Promise<StepsOutcome>;
    /** Stop: pulumi gets SIGINT (it cancels gracefully, finishing the operations in flight); no further step starts. */
    interrupt(): void;
    /** SIGKILL to the steps and every process they started (only when a stopped step does not end in time). */
    kill(): void;
}

export interface StepsContext {
    stack: string;
    dir: string;
    region: string;
    env: Env;
    dnsTimeoutSeconds: number;
}

export interface Deps {
    env: Env;
    repo: string;
    home: string;
    print: (line: string) => void;
    exec: (c: Command) => Promise<CommandResult>;
    /** The path of a command on PATH, or undefined. */
    which: (cmd: string) => string | undefined;
    /** A file's text, or undefined when it cannot be read. */
    readFile: (file: string) => string | undefined;
    isTTY: boolean;
    ask: (question: string) => Promise<string>;
    now: () => number;
    sleep: (ms: number) => Promise<void>;
    /** 4 hex digits. */
    random: () => string;
    /** Calls `handler` on SIGINT, SIGTERM and SIGHUP; returns the function that stops that. */
    onSignal: (handler: (signal: string) => void) => () => void;
    /**
     * The project copy the stack lives in, `.test-aws/<stack>/`, with the state's directory and passphrase file
     * when `state` names them. "new": a fresh copy with Pulumi.<stack>.yaml = Pulumi.dev.yaml; "cleanup": the copy a
     * run left, or a fresh one without stack config (pulumi takes the passphrase salt from the state).
     */
    prepareWork: (stack: string, state: StateEnv, mode: "new" | "cleanup") => Promise<string>;
    removeWork: (dir: string) => void;
    startSteps: (c: StepsContext) => StepsHandle;
    stepStopTimeoutMs?: number;
    destroyRetryWaitMs?: number;
}

// ---------------------------------------------------------------------------------------------------------------
// State backend and secrets, as scripts/pulumi-env.sh sets them for npm run local

export interface StateEnv {
    backend: string;
    /** PULUMI_BACKEND_URL and the passphrase variable, for every pulumi command. */
    env: Env;
    /** The local backend's directory, made after confirmation. */
    stateDir?: string;
    /** A random passphrase is written here (mode 600) after confirmation unless the file exists. */
    passphraseFile?: string;
}

export function stateEnv(env: Env, repo: string): StateEnv {
    const local = path.join(repo, ".pulumi-state");
    const backend = env.PULUMI_BACKEND_URL || `file://${local}`;
    const s: StateEnv = { backend, env: { PULUMI_BACKEND_URL: backend }, stateDir: env.PULUMI_BACKEND_URL ? undefined : local };
    if (env.PULUMI_CONFIG_PASSPHRASE) {
        s.env.PULUMI_CONFIG_PASSPHRASE = env.PULUMI_CONFIG_PASSPHRASE;
    } else if (env.PULUMI_CONFIG_PASSPHRASE_FILE) {
        s.env.PULUMI_CONFIG_PASSPHRASE_FILE = env.PULUMI_CONFIG_PASSPHRASE_FILE;
    } else {
        s.passphraseFile = path.join(local, "passphrase");
        s.env.PULUMI_CONFIG_PASSPHRASE_FILE = s.passphraseFile;
    }
    return s;
}

// ---------------------------------------------------------------------------------------------------------------
// Before anything is created: tools, credentials, region

const TOOLS: [string, string][] = [
    ["pulumi", "pulumi not found on PATH: npm run toolchain builds it into .toolchain/bin, or install the Pulumi CLI"],
    ["kubectl", "kubectl not found on PATH (the checks read the cluster with it): npm run toolchain, or install kubectl"],
    ["aws", "aws (the AWS CLI) not found on PATH: the cluster's kubeconfig runs `aws eks get-token`, and the run reads the " +
        "account with `aws sts get-caller-identity` and checks that the load balancer is gone; install it " +
        "(https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html)"],
];

function iniSections(text: string | undefined): string[] {
    return [...(text ?? "").matchAll(/^\s*\[\s*([^\]]+?)\s*\]\s*$/gm)].map((m) => m[1].replace(/^profile\s+/, ""));
}

export interface CredentialCheck {
    /** Where credentials were found, e.g. "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY". */
    sources: string[];
    /** What is wrong: half-set variables, a profile that does not exist. */
    problems: string[];
    /** What was looked for, for the message when nothing is found. */
    none: string;
}

/** The credential sources the AWS CLI and the Pulumi AWS provider read, found without calling AWS. */
export function credentialSources(env: Env, readFile: (f: string) => string | undefined, home: string): CredentialCheck {
    const sources: string[] = [];
    const problems: string[] = [];
    const credFile = env.AWS_SHARED_CREDENTIALS_FILE || path.join(home, ".aws", "credentials");
    const configFile = env.AWS_CONFIG_FILE || path.join(home, ".aws", "config");
    const credText = readFile(credFile);
    const configText = readFile(configFile);
    const profiles = new Set([...iniSections(credText), ...iniSections(configText)]);
    const keyId = env.AWS_ACCESS_KEY_ID;
    const secret = env.AWS_SECRET_ACCESS_KEY;
    if (keyId && secret) {
        sources.push("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
    } else if (keyId || secret) {
        problems.push(keyId ? "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not" : "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
    }
    const profileVar = env.AWS_PROFILE ? "AWS_PROFILE" : env.AWS_DEFAULT_PROFILE ? "AWS_DEFAULT_PROFILE" : undefined;
    if (profileVar) {
        const profile = env[profileVar]!;
        if (profiles.has(profile)) {
            sources.push(`profile ${profile} (${profileVar})`);
        } else {
            problems.push(`${profileVar}=${profile}, but neither ${credFile} nor ${configFile} has a profile of that name`);
        }
    } else if (profiles.has("default")) {
        sources.push(`the default profile (${credText !== undefined && iniSections(credText).includes("default") ? credFile : configFile})`);
    }
    if (env.AWS_WEB_IDENTITY_TOKEN_FILE && env.AWS_ROLE_ARN) {
        sources.push("web identity (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE)");
    }
    if (env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || env.AWS_CONTAINER_CREDENTIALS_FULL_URI) {
        sources.push("container credentials (AWS_CONTAINER_CREDENTIALS_*_URI)");
    }
    const files = credText === undefined && configText === undefined ? `there is no ${credFile} or ${configFile}`
        : `${credText === undefined ? configFile : configText === undefined ? credFile : `${credFile} and ${configFile}`} ` +
          `${credText !== undefined && configText !== undefined ? "have" : "has"} no [default] profile`;
    const none = `no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set, AWS_PROFILE is not set, ${files}, ` +
        "and there are no web identity or container credentials; set the variables, or run `aws configure` (or `aws sso login`)";
    return { sources, problems, none };
}

export interface Identity {
    account: string;
    arn: string;
}

export interface Preflight {
    problems: string[];
    region?: string;
    identity?: Identity;
}

const lastLine = (text: string) => text.trim().split("\n").filter(Boolean).pop() ?? "";

export async function preflight(o: Options, d: Deps): Promise<Preflight> {
    const problems: string[] = [];
    for (const [cmd, missing] of TOOLS) {
        if (!d.which(cmd)) {
            problems.push(missing);
        }
    }
    let region = o.region ?? (d.env.AWS_REGION || d.env.AWS_DEFAULT_REGION || undefined);
    if (region && !REGION.test(region)) {
        problems.push(`${o.region ? "--region" : d.env.AWS_REGION ? "AWS_REGION" : "AWS_DEFAULT_REGION"}=${region} is not an AWS region name (e.g. eu-west-1)`);
        region = undefined;
    } else if (!region && !o.cleanup) {
        problems.push("no region: pass --region <region> (e.g. --region ap-northeast-1, dev's region) or set AWS_REGION");
    }
    const creds = credentialSources(d.env, d.readFile, d.home);
    problems.push(...creds.problems);
    let identity: Identity | undefined;
    if (creds.problems.length === 0 && d.which("aws")) {
        // The truth: also finds what no file shows (an instance role, an SSO cache) and rejects expired keys.
        const r = await d.exec({ cmd: "aws", args: ["sts", "get-caller-identity", "--output", "json"],
            env: { ...d.env, ...(region ? { AWS_REGION: region } : {}) }, timeoutMs: 60_000 });
        if (r.code === 0) {
            try {
                const id = JSON.parse(r.stdout);
                identity = { account: String(id.Account), arn: String(id.Arn) };
            } catch {
                problems.push(`aws sts get-caller-identity printed no identity: ${lastLine(r.stdout)}`);
            }
        } else if (creds.sources.length === 0) {
            problems.push(`${creds.none} (aws sts get-caller-identity: ${lastLine(r.stderr) || `exit ${r.code}`})`);
        } else {
            const why = /connect|timed? ?out|resolve|getaddrinfo|Name or service/i.test(r.stderr) ? "AWS cannot be reached from here" : "expired or wrong credentials?";
            problems.push(`aws sts get-caller-identity failed with ${creds.sources.join(", ")}: ${lastLine(r.stderr) || `exit ${r.code}`} (${why})`);
        }
    } else if (creds.problems.length === 0 && creds.sources.length === 0) {
        problems.push(creds.none);
    }
    return { problems, region, identity };
}

// ---------------------------------------------------------------------------------------------------------------
// The plan and its rough cost

/** Pulumi.dev.yaml's settings as the program sees them (the keys of other namespaces, such as aws:region, apart). */
export function devStack(repo: string, readFile: (f: string) => string | undefined): { settings: StackSettings; region: string } {
    const text = readFile(path.join(repo, "Pulumi.dev.yaml"));
    if (text === undefined) {
        throw new Error(`cannot read ${path.join(repo, "Pulumi.dev.yaml")}`);
    }
    const config: Record<string, unknown> = parseYaml(text).config ?? {};
    const flat = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
    return { settings: readStack(flat), region: String(config["aws:region"] ?? "") };
}

/** USD on-demand list prices per region (Linux, as AWS's pricing pages gave them in 2025; not looked up at run time). */
export interface RegionPrices {
    instancePerHour: Record<string, number>;
    eksPerHour: number;
    natPerHour: number;
    natPerGb: number;
    clbPerHour: number;
    nlbPerHour: number;
    lbPerGb: number;
    publicIpv4PerHour: number;
    gp3PerGbMonth: number;
    kmsKeyPerMonth: number;
}

export const PRICES_AS_OF = "AWS list prices as of 2025, not looked up at run time";
export const PRICES: Record<string, RegionPrices> = {
    "us-east-1": { instancePerHour: { "t2.micro": 0.0116 }, eksPerHour: 0.10, natPerHour: 0.045, natPerGb: 0.045, clbPerHour: 0.025,
        nlbPerHour: 0.0225, lbPerGb: 0.008, publicIpv4PerHour: 0.005, gp3PerGbMonth: 0.08, kmsKeyPerMonth: 1 },
    "eu-west-1": { instancePerHour: { "t2.micro": 0.0126 }, eksPerHour: 0.10, natPerHour: 0.048, natPerGb: 0.048, clbPerHour: 0.028,
        nlbPerHour: 0.0252, lbPerGb: 0.008, publicIpv4PerHour: 0.005, gp3PerGbMonth: 0.088, kmsKeyPerMonth: 1 },
    "ap-northeast-1": { instancePerHour: { "t2.micro": 0.0152 }, eksPerHour: 0.10, natPerHour: 0.062, natPerGb: 0.062, clbPerHour: 0.027,
        nlbPerHour: 0.0243, lbPerGb: 0.008, publicIpv4PerHour: 0.005, gp3PerGbMonth: 0.096, kmsKeyPerMonth: 1 },
};
/** The root volume of an EKS node (the AMI's default, as this program's launch template sets none). */
const NODE_VOLUME_GIB = 20;
const HOURS_PER_MONTH = 730;

export interface CostLine {
    what: string;
    perHour?: number;
    note?: string;
    /** Billed by the started hour (NAT gateway, load balancer), not by the second. */
    wholeHours?: boolean;
}

export interface Cost {
    /** The region whose prices are used (the chosen one, or us-east-1 when it is not in the table). */
    pricedAs: string;
    lines: CostLine[];
    perHour: number;
    perRun: number;
    /** Some item has no price in the table. */
    incomplete: boolean;
}

export function hourlyCost(region: string, s: StackSettings): Cost {
    if (s.target.kind !== "eks") {
        throw new Error("the dev stage is not an EKS stage");
    }
    const c = s.settings.cluster;
    const pricedAs = PRICES[region] ? region : "us-east-1";
    const p = PRICES[pricedAs];
    const lines: CostLine[] = [{ what: "EKS control plane", perHour: p.eksPerHour }];
    for (const type of c.instanceTypes.slice(0, 1)) {
        const each = p.instancePerHour[type];
        lines.push({ what: `${c.desiredSize} × ${type} nodes`, perHour: each === undefined ? undefined : each * c.desiredSize,
            note: each === undefined ? `no price for ${type} in the table` : `${each} each` });
    }
    const nats = c.vpc ? 0 : c.natGateways === "Single" ? 1 : c.availabilityZones;
    if (nats > 0) {
        lines.push({ what: `${nats} NAT gateway${nats > 1 ? "s" : ""}`, perHour: p.natPerHour * nats, wholeHours: true,
            note: `+ ${p.natPerGb}/GB processed; the nodes pull images through it, well under 1 GB` });
    }
    const lb = s.settings.loadBalancer.type === "nlb" ? "Network Load Balancer" : "Classic Load Balancer";
    lines.push({ what: lb, perHour: s.settings.loadBalancer.type === "nlb" ? p.nlbPerHour : p.clbPerHour, wholeHours: true,
        note: `+ ${p.lbPerGb}/GB; this run sends a few MB` });
    const zones = c.vpc ? c.vpc.publicSubnetIds.length : c.availabilityZones;
    const ips = nats + zones;
    lines.push({ what: `${ips} public IPv4 addresses`, perHour: p.publicIpv4PerHour * ips,
        note: `${nats ? `NAT gateway ${nats}, ` : ""}load balancer ${zones}` });
    lines.push({ what: `EBS: ${c.desiredSize} × ${NODE_VOLUME_GIB} GiB`, perHour: (p.gp3PerGbMonth * NODE_VOLUME_GIB * c.desiredSize) / HOURS_PER_MONTH,
        note: "the nodes' root volumes, at the gp3 price" });
    if (c.secretsEncryption && !c.kmsKeyArn) {
        lines.push({ what: "KMS key", perHour: p.kmsKeyPerMonth / HOURS_PER_MONTH, note: `USD ${p.kmsKeyPerMonth}/month, prorated` });
    }
    if (c.logTypes.length > 0) {
        lines.push({ what: `CloudWatch Logs (${c.logTypes.join(", ")})`, perHour: 0, note: "USD 0.50-0.76/GB ingested; a run sends a few MB" });
    }
    const perHour = lines.reduce((sum, l) => sum + (l.perHour ?? 0), 0);
    const hours = RUN_MINUTES / 60;
    const perRun = lines.reduce((sum, l) => sum + (l.perHour ?? 0) * (l.wholeHours ? Math.ceil(hours) : hours), 0);
    return { pricedAs, lines, perHour, perRun, incomplete: lines.some((l) => l.perHour === undefined) };
}

export interface PlanInput {
    stack: string;
    region: string;
    identity?: Identity;
    backend: string;
    workDir: string;
    dev: StackSettings;
}

const usd = (n: number) => n.toFixed(3);

export function planText(p: PlanInput): string[] {
    if (p.dev.target.kind !== "eks") {
        throw new Error("the dev stage is not an EKS stage");
    }
    const c = p.dev.settings.cluster;
    const a = { ...p.dev.settings, image: p.dev.app.args.image };
    const cost = hourlyCost(p.region, p.dev);
    const nats = c.vpc ? 0 : c.natGateways === "Single" ? 1 : c.availabilityZones;
    const account = p.identity ? `AWS account ${p.identity.account} as ${p.identity.arn}` : "the AWS account of your credentials";
    const lb = a.loadBalancer.type === "nlb" ? "a Network Load Balancer" : "a Classic Load Balancer";
    const out = [
        `test:aws will create, in ${account}, region ${p.region}:`,
        `  Pulumi stack  ${p.stack}: Pulumi.dev.yaml's settings, aws:region ${p.region}, tags stage=test-aws and test-stack=${p.stack}`,
        `  state         ${p.backend} (it outlives a crash, so that the stack can still be cleaned up)`,
        `  project copy  ${p.workDir} (removed when nothing is left)`,
        "resources (the dev stage):",
        c.vpc ? `  - no VPC: the existing ${c.vpc.id}`
            : `  - a VPC over ${c.availabilityZones} availability zones: ${c.availabilityZones} public and ${c.availabilityZones} private subnets, ` +
              `an internet gateway, ${nats} NAT gateway${nats > 1 ? "s" : ""} with Elastic IPs, route tables`,
        `  - an EKS control plane: Kubernetes ${c.kubernetesVersion ?? "at EKS's default version"}, API authentication mode, ` +
            `${[c.endpointPublicAccess && "public", c.endpointPrivateAccess && "private"].filter(Boolean).join(" and ")} endpoint` +
            `${c.secretsEncryption ? `, Kubernetes secrets encrypted with ${c.kmsKeyArn ? "the given KMS key" : "a new KMS key (yearly rotation)"}` : ""}; ` +
            `control-plane logs to CloudWatch: ${c.logTypes.length ? c.logTypes.join(", ") : "none (dev's cluster.logTypes is empty)"}; its add-ons (VPC CNI, CoreDNS, kube-proxy)`,
        `  - a managed node group: ${c.desiredSize} × ${c.instanceTypes.join("/")} (min ${c.minSize}, max ${c.maxSize}; no autoscaler runs, so ` +
            `${c.desiredSize} stay), IMDSv2 required, with their EBS root volumes; IAM roles for the cluster and the nodes; security groups`,
        `  - the app: Deployment sample-deployment (${a.image}, then ${HTTPD_IMAGE}), Service sample-service of type ${a.serviceType}: ` +
            `${lb} in the public subnets, open to every address on port ${a.port} (then 8080). Kubernetes' AWS cloud provider makes it, ` +
            "not Pulumi: the run checks that it is gone after destroy",
        `rough cost while it exists: USD, on-demand, ${cost.pricedAs === p.region ? p.region : `${cost.pricedAs}'s (${p.region} is not in the table: expect up to ~30% more)`}; ${PRICES_AS_OF}:`,
        ...cost.lines.map((l) => `  ${l.what.padEnd(32)} ${l.perHour === undefined ? "    ?  " : `${usd(l.perHour)}/h`}${l.note ? `  (${l.note})` : ""}`),
        `  ${"total".padEnd(32)} ${usd(cost.perHour)}/h${cost.incomplete ? " + the items without a price" : ""}`,
        `time: about ${RUN_MINUTES} minutes (pulumi up ~15-20, of which the EKS control plane ~10; the checks ~5; pulumi destroy ~10-15), so about ` +
            `USD ${cost.perRun.toFixed(2)} per run (NAT gateway and load-balancer hours are billed whole; a stack left running costs ` +
            `about USD ${(cost.perHour * 24).toFixed(2)} a day)`,
        c.secretsEncryption && !c.kmsKeyArn
            ? "left after the run, by design: the KMS key, which AWS keeps scheduled for deletion for 30 days (disabled; at most USD 1)"
            : "left after the run, by design: nothing",
        "whatever happens (a failed step, an error, Ctrl-C), the run then destroys the stack, checks that it is empty, removes it, " +
            "and lists what it could not remove.",
    ];
    return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Confirmation

export async function confirm(question: string, o: Options, d: Deps): Promise<{ ok: boolean; why: string }> {
    if (o.yes) {
        return { ok: true, why: "--yes" };
    }
    if (!d.isTTY) {
        return { ok: false, why: "stdin is not a terminal, so nobody can answer: pass --yes to run unattended" };
    }
    const answer = (await d.ask(`${question} [y/N] `)).trim().toLowerCase();
    return answer === "y" || answer === "yes" ? { ok: true, why: "confirmed" } : { ok: false, why: `declined (answer ${JSON.stringify(answer)})` };
}

// ---------------------------------------------------------------------------------------------------------------
// Cleanup

export interface StateResource {
    urn: string;
    type: string;
    id?: string;
    custom: boolean;
}

export interface StackState {
    ok: boolean;
    error?: string;
    resources: StateResource[];
    /** Operations pulumi had started when it was stopped (a SIGKILL mid-`up`). */
    pending: { type: string; urn: string; kind: string }[];
}

export function parseExport(json: string): StackState {
    const deployment = JSON.parse(json).deployment ?? {};
    return {
        ok: true,
        resources: (deployment.resources ?? []).map((r: any) => ({ urn: r.urn, type: r.type, id: r.id || undefined, custom: r.custom === true })),
        pending: (deployment.pending_operations ?? []).map((p: any) => ({ type: p.resource?.type, urn: p.resource?.urn, kind: p.type })),
    };
}

const nameOf = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);

/** How each resource left in the stack is listed: type, id and name; providers and components only counted. */
export function describeLeftovers(resources: StateResource[]): string[] {
    const physical = resources.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:"));
    const rest = resources.length - physical.length;
    return [
        ...physical.map((r) => `${r.type} ${r.id ?? "(no id)"} (${nameOf(r.urn)})`),
        ...(rest > 0 ? [`${rest} component or provider entr${rest === 1 ? "y" : "ies"} in the stack (nothing in AWS by themselves)`] : []),
    ];
}

export interface CleanupContext {
    stack: string;
    dir: string;
    region?: string;
    /** PULUMI_BACKEND_URL, the passphrase, AWS_REGION. */
    env: Env;
    /** A pulumi run may have been killed, leaving the stack locked: `pulumi cancel` first. */
    unclean: boolean;
    loadBalancer?: string;
}

export interface CleanupReport {
    destroyed: boolean;
    removed: boolean;
    leftovers: string[];
}

async function exportState(run: (args: string[]) => Promise<CommandResult>, stack: string): Promise<StackState> {
    const r = await run(["stack", "export", "--stack", stack]);
    if (r.code !== 0) {
        return { ok: false, error: lastLine(r.stderr) || `exit ${r.code}`, resources: [], pending: [] };
    }
    try {
        return parseExport(r.stdout);
    } catch (e) {
        return { ok: false, error: `unreadable export: ${(e as Error).message}`, resources: [], pending: [] };
    }
}

/**
 * Destroys the stack (retrying: AWS may need a minute to release a load balancer's network interfaces before the
 * subnets can go), checks that it is empty, removes it; lists what is left, with types and ids.
 */
export async function cleanup(c: CleanupContext, d: Deps): Promise<CleanupReport> {
    const say = (m: string) => d.print(`[cleanup] ${m}`);
    const pulumi = (args: string[], extra: Env = {}, echo = false) =>
        d.exec({ cmd: "pulumi", args: ["--non-interactive", ...args], cwd: c.dir, env: { ...d.env, ...c.env, ...extra }, echo });
    const leftovers: string[] = [];
    say(`stack ${c.stack}: pulumi destroy, check that the stack is empty, pulumi stack rm`);
    if (c.unclean) {
        // A pulumi killed mid-update leaves the stack locked; our own pulumi processes are all gone by now.
        const r = await pulumi(["cancel", "--yes", "--stack", c.stack]);
        say(r.code === 0 ? "pulumi cancel: no update of the stack is left running (lock removed)" : `pulumi cancel: ${lastLine(r.stderr) || `exit ${r.code}`}`);
    }
    const before = await exportState(pulumi, c.stack);
    for (const op of before.pending.filter((p) => p.kind === "creating")) {
        leftovers.push(`possibly in AWS but not in the stack: ${op.type} ${nameOf(op.urn)} was being created when pulumi was killed ` +
            "(pulumi destroy forgets such an operation); look it up by that name in the AWS console and delete it by hand");
    }
    let after = before;
    let destroyed = false;
    for (let attempt = 1; attempt <= DESTROY_ATTEMPTS; attempt++) {
        // Kubernetes objects left while their EKS cluster is gone (deleted outside Pulumi): let the provider drop them.
        const clusterGone = attempt > 1 && after.ok && after.resources.some((r) => r.type.startsWith("kubernetes:")) &&
            !after.resources.some((r) => r.type === "aws:eks/cluster:Cluster");
        const extra: Env = clusterGone ? { PULUMI_K8S_DELETE_UNREACHABLE: "true" } : {};
        say(`pulumi destroy (attempt ${attempt} of ${DESTROY_ATTEMPTS})${clusterGone ? " with PULUMI_K8S_DELETE_UNREACHABLE=true: the EKS cluster is " +
            "no longer in the stack, so its Kubernetes objects are gone with it" : ""}`);
        const r = await pulumi(["destroy", "--yes", "--skip-preview", "--continue-on-error", "--stack", c.stack], extra, true);
        after = await exportState(pulumi, c.stack);
        if (r.code === 0 && after.ok && after.resources.length === 0) {
            destroyed = true;
            break;
        }
        say(`pulumi destroy: exit ${r.code}; ${after.ok ? `${after.resources.length} resources left in the stack` : `stack export failed: ${after.error}`}`);
        if (attempt < DESTROY_ATTEMPTS) {
            const wait = d.destroyRetryWaitMs ?? DESTROY_RETRY_WAIT_MS;
            say(`again in ${Math.round(wait / 1000)} s`);
            await d.sleep(wait);
        }
    }
    if (c.loadBalancer) {
        const lb = await loadBalancerLeft(c.loadBalancer, c.region, d);
        if (lb) {
            leftovers.push(lb);
        }
    }
    let removed = false;
    if (after.ok && after.resources.length === 0) {
        const r = await pulumi(["stack", "rm", c.stack, "--yes"]);
        removed = r.code === 0;
        say(removed ? `stack ${c.stack} is empty and removed` : `pulumi stack rm: ${lastLine(r.stderr) || `exit ${r.code}`}`);
        if (!removed) {
            leftovers.push(`the stack ${c.stack} itself (empty): pulumi stack rm failed: ${lastLine(r.stderr) || `exit ${r.code}`}`);
        }
    } else if (after.ok) {
        leftovers.push(...describeLeftovers(after.resources));
    } else {
        leftovers.push(`unknown: pulumi stack export failed (${after.error}), so the stack ${c.stack} is kept`);
    }
    return { destroyed, removed, leftovers };
}

/** The Service's load balancer is not in the stack: check with AWS that it is gone (it may take a moment). */
async function loadBalancerLeft(hostname: string, region: string | undefined, d: Deps): Promise<string | undefined> {
    const name = elbNameOf(hostname);
    if (!name || !region) {
        return `unchecked: the load balancer ${hostname} (made by Kubernetes, not in the stack): ` +
            `${name ? "no region known" : "not a Classic Load Balancer hostname"}; look for it in the EC2 console`;
    }
    for (let attempt = 1; ; attempt++) {
        const r = await d.exec({ cmd: "aws", args: ["elb", "describe-load-balancers", "--load-balancer-names", name, "--region", region, "--output", "json"],
            env: d.env, timeoutMs: 60_000 });
        if (r.code !== 0 && /LoadBalancerNotFound|cannot be found|There is no ACTIVE Load Balancer/i.test(r.stderr)) {
            d.print(`[cleanup] the load balancer ${name} (made by Kubernetes for the Service) is gone`);
            return undefined;
        }
        if (r.code !== 0) {
            return `unchecked: the load balancer ${name} (made by Kubernetes, not in the stack): aws elb describe-load-balancers: ` +
                `${lastLine(r.stderr) || `exit ${r.code}`}; delete it if it is there: aws elb delete-load-balancer --load-balancer-name ${name} --region ${region}`;
        }
        if (attempt >= 6) {
            return `Classic Load Balancer ${name} (made by Kubernetes for sample-service, not in the stack; its security group k8s-elb-${name} too): ` +
                `aws elb delete-load-balancer --load-balancer-name ${name} --region ${region}`;
        }
        await d.sleep(10_000);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The run

const SIGNAL_EXIT: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

interface RunState {
    interrupted?: string;
    interruptedAt?: number;
    cleaning: boolean;
    steps?: StepsHandle;
}

async function waitForSteps(h: StepsHandle, run: RunState, d: Deps): Promise<StepsOutcome & { killed: boolean }> {
    let result: { outcome?: StepsOutcome; error?: unknown } | undefined;
    const settled = h.done.then((outcome) => (result = { outcome }), (error) => (result = { error }));
    let killed = false;
    const limit = d.stepStopTimeoutMs ?? STEP_STOP_TIMEOUT_MS;
    while (!result) {
        // Each second: has a stopped step overrun its time?
        await Promise.race([settled, d.sleep(1000)]);
        if (!killed && run.interruptedAt !== undefined && d.now() - run.interruptedAt > limit) {
            d.print(`[test:aws] the stopped step has not ended after ${Math.round(limit / 60_000)} min: killing it (SIGKILL); ` +
                "what pulumi had in flight is listed below if it is not in the stack");
            h.kill();
            killed = true;
        }
    }
    if (result.error !== undefined) {
        throw result.error;
    }
    return { ...result.outcome!, killed };
}

function finish(d: Deps, o: { stack: string; dir?: string; steps: string; report?: CleanupReport; failed: boolean; interrupted?: string; region?: string }): number {
    d.print("");
    d.print(`test:aws: ${o.steps}`);
    const r = o.report;
    if (r && r.removed && r.leftovers.length === 0) {
        d.print(`test:aws: cleanup: every resource destroyed, stack ${o.stack} empty and removed`);
    } else if (r) {
        d.print(`test:aws: LEFT BEHIND after the cleanup (they cost money until removed):`);
        r.leftovers.forEach((l) => d.print(`  - ${l}`));
        if (!r.removed) {
            d.print(`  retry: npm run test:aws -- --cleanup ${o.stack}${o.region ? ` --region ${o.region}` : ""}` +
                `${o.dir ? `   (project copy and stack config kept in ${o.dir})` : ""}`);
        }
    }
    if (r && r.leftovers.length > 0) {
        return 3;
    }
    if (o.interrupted) {
        return SIGNAL_EXIT[o.interrupted] ?? 130;
    }
    return o.failed ? 1 : 0;
}

export async function main(argv: string[], d: Deps): Promise<number> {
    let o: Options;
    try {
        o = parseArgs(argv);
    } catch (e) {
        if (e instanceof UsageError) {
            d.print(`test:aws: ${e.message}`);
            d.print("see npm run test:aws -- --help");
            return 2;
        }
        throw e;
    }
    if (o.help) {
        d.print(USAGE);
        return 0;
    }
    const pre = await preflight(o, d);
    if (pre.problems.length > 0) {
        d.print(`test:aws: cannot start; nothing was created:`);
        pre.problems.forEach((p) => d.print(`  - ${p}`));
        return 1;
    }
    const state = stateEnv(d.env, d.repo);
    return o.cleanup ? cleanupOnly(o, o.cleanup, pre, state, d) : runTutorial(o, pre, state, d);
}

async function runTutorial(o: Options, pre: Preflight, state: StateEnv, d: Deps): Promise<number> {
    const region = pre.region!;
    const stack = o.stack ?? newStackName(d.now(), d.random());
    const workDir = path.join(d.repo, ".test-aws", stack);
    const dev = devStack(d.repo, d.readFile);
    planText({ stack, region, identity: pre.identity, backend: state.backend, workDir, dev: dev.settings }).forEach((l) => d.print(l));
    const answer = await confirm("Create these resources and run the tutorial on them?", o, d);
    if (!answer.ok) {
        d.print(`test:aws: ${answer.why}; nothing was created.`);
        return 1;
    }

    const run: RunState = { cleaning: false };
    const off = d.onSignal((signal) => {
        if (run.cleaning) {
            d.print(`[test:aws] ${signal}: the cleanup goes on until the stack is destroyed and removed (its commands do not get the signal). ` +
                `To abandon it anyway, kill this process with SIGKILL; then: npm run test:aws -- --cleanup ${stack}`);
            return;
        }
        if (run.interrupted) {
            d.print(`[test:aws] ${signal} again: still stopping; pulumi finishes what it has in flight, then the cleanup runs (it is not skipped)`);
            return;
        }
        run.interrupted = signal;
        run.interruptedAt = d.now();
        d.print(`[test:aws] ${signal}: stopping. pulumi finishes the operations in flight (creating an EKS cluster may take 10 minutes more), ` +
            "then everything is destroyed");
        run.steps?.interrupt();
    });
    const env: Env = { ...state.env, AWS_REGION: region };
    const pulumi = (dir: string, args: string[]) => d.exec({ cmd: "pulumi", args: ["--non-interactive", ...args], cwd: dir, env: { ...d.env, ...env } });
    let dir: string | undefined;
    let stackCreated = false;
    let outcome: (StepsOutcome & { killed: boolean }) | undefined;
    let error: string | undefined;
    let report: CleanupReport | undefined;
    try {
        dir = await d.prepareWork(stack, state, "new");
        d.print(`[test:aws] pulumi stack init ${stack} (${state.backend})`);
        const init = await pulumi(dir, ["stack", "init", stack, "--secrets-provider", "passphrase"]);
        if (init.code !== 0) {
            // Not ours to destroy: it may be another run's stack of the same name.
            throw new Error(`pulumi stack init ${stack} failed: ${lastLine(init.stderr) || `exit ${init.code}`}`);
        }
        stackCreated = true;
        for (const args of [["config", "set", "aws:region", region], ["config", "set", "--path", "cluster.tags.stage", "test-aws"],
            ["config", "set", "--path", "cluster.tags.test-stack", stack]]) {
            if (run.interrupted) {
                break;
            }
            const r = await pulumi(dir, [...args, "--stack", stack]);
            if (r.code !== 0) {
                throw new Error(`pulumi ${args.join(" ")} failed: ${lastLine(r.stderr) || `exit ${r.code}`}`);
            }
        }
        if (!run.interrupted) {
            run.steps = d.startSteps({ stack, dir, region, env, dnsTimeoutSeconds: o.dnsTimeoutSeconds });
            outcome = await waitForSteps(run.steps, run, d);
        }
    } catch (e) {
        error = (e as Error).message;
        d.print(`[test:aws] error: ${error}`);
    } finally {
        run.cleaning = true;
        if (stackCreated) {
            report = await cleanup({ stack, dir: dir!, region, env, unclean: run.interrupted !== undefined || outcome?.killed === true ||
                (outcome !== undefined && outcome.code > 128), loadBalancer: outcome?.loadBalancer }, d);
            if (report.removed && report.leftovers.length === 0) {
                d.removeWork(dir!);
            }
        } else if (dir) {
            d.removeWork(dir);
        }
        off();
    }
    const steps = outcome
        ? `${outcome.passed} passed, ${outcome.failed} failed${outcome.notRun ? `, ${outcome.notRun} not run` : ""} (of ${outcome.total} steps)` +
          `${run.interrupted ? `; interrupted by ${run.interrupted}` : ""}`
        : `no step ran${run.interrupted ? ` (interrupted by ${run.interrupted})` : ""}${error ? ` (${error})` : ""}`;
    const failed = error !== undefined || !outcome || outcome.failed > 0 || outcome.notRun > 0 || outcome.code !== 0;
    return finish(d, { stack, dir, steps, report, failed, interrupted: run.interrupted, region });
}

async function cleanupOnly(o: Options, stack: string, pre: Preflight, state: StateEnv, d: Deps): Promise<number> {
    const dir = await d.prepareWork(stack, state, "cleanup");
    const env: Env = { ...state.env, ...(pre.region ? { AWS_REGION: pre.region } : {}) };
    const pulumi = (args: string[]) => d.exec({ cmd: "pulumi", args: ["--non-interactive", ...args], cwd: dir, env: { ...d.env, ...env } });
    const current = await exportState(pulumi, stack);
    if (!current.ok) {
        d.print(`test:aws: no stack ${stack} to clean up in ${state.backend}: ${current.error}`);
        d.removeWork(dir);
        return 1;
    }
    const configured = await pulumi(["config", "get", "aws:region", "--stack", stack]);
    const region = configured.code === 0 && configured.stdout.trim() ? configured.stdout.trim() : pre.region;
    let loadBalancer: string | undefined;
    try {
        loadBalancer = JSON.parse(d.readFile(path.join(dir, "steps.json")) ?? "{}").loadBalancer;
    } catch {
        /* no record of the run: only the stack is checked */
    }
    d.print(`test:aws will destroy stack ${stack} (${state.backend}, region ${region ?? "unknown"}) and remove it:`);
    describeLeftovers(current.resources).forEach((l) => d.print(`  - ${l}`));
    if (current.resources.length === 0) {
        d.print("  (no resources)");
    }
    if (loadBalancer) {
        d.print(`  and check that the load balancer ${loadBalancer} is gone`);
    }
    const answer = await confirm(`Destroy stack ${stack}?`, o, d);
    if (!answer.ok) {
        d.print(`test:aws: ${answer.why}; nothing was changed.`);
        return 1;
    }
    const off = d.onSignal((signal) => d.print(`[test:aws] ${signal}: the cleanup goes on (its commands do not get the signal)`));
    try {
        const report = await cleanup({ stack, dir, region, env, unclean: true, loadBalancer }, d);
        if (report.removed && report.leftovers.length === 0) {
            d.removeWork(dir);
        }
        return finish(d, { stack, dir, steps: "cleanup only", report, failed: false, region });
    } finally {
        off();
    }
}
