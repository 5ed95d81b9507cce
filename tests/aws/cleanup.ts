/**
 * The cleanup that follows every run, whatever happened, and `--cleanup <stack>`: `pulumi cancel` after an
 * interruption, `pulumi destroy` (retried), a check that the stack is empty, `pulumi stack rm`, and a check with AWS
 * that the Service's load balancer (Kubernetes', not in the stack) is gone; what is left is listed with types and ids.
 */
import { CommandResult, Deps, Env, lastLine } from "./deps";
import { elbNameOf } from "./target";

export const DESTROY_ATTEMPTS = 3;
export const DESTROY_RETRY_WAIT_MS = 60_000;

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

/** `pulumi stack export`, read: what the stack holds, or why that could not be read. */
export async function exportState(run: (args: string[]) => Promise<CommandResult>, stack: string): Promise<StackState> {
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

