/**
 * Before anything is created: the tools on PATH, AWS credentials (found without calling AWS, then confirmed by
 * `aws sts get-caller-identity`) and a region. Every missing piece is named at once.
 */
import * as path from "path";
import { Options, REGION } from "./arguments";
import { Deps, Env, lastLine } from "./deps";

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

