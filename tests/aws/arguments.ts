/** npm run test:aws's arguments: the flags, their checks, the usage text, and the names of the stacks it makes. */
import { RUN_MINUTES } from "./plan";

export const STACK_PREFIX = "test-aws-";
/** Project + stack name prefix the names of IAM roles (64 characters at most), node groups (63), ...: keep it short. */
const STACK_NAME = /^test-aws-[a-z0-9][a-z0-9-]{0,20}$/;
/** An AWS region name: us-east-1, eu-west-1, ap-northeast-1, us-gov-west-1, ... */
export const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
export const DEFAULT_DNS_TIMEOUT_SECONDS = 300;
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

