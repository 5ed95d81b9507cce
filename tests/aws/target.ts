/**
 * What the tutorial's checks need to know about AWS, apart from any cluster or harness (so the unit suite can
 * test it): how a Classic Load Balancer's hostname looks and which load balancer it names, which answers mean
 * that nothing serves at an address any more, and a bounded wait for an address to answer (its DNS name appears
 * a minute or two after `pulumi up`) or to stop answering.
 */
import { Answer, get } from "../../harness/http";

/**
 * A Classic Load Balancer's hostname, as the Service reports it: `<name>-<number>.<region>.elb.amazonaws.com`
 * (`internal-<name>-...` for an internal one), where Kubernetes names the load balancer `a` + the Service's UID.
 */
export const ELB_HOSTNAME = /^(?:internal-)?([a-z0-9][a-z0-9-]*)-(\d+)\.([a-z0-9-]+)\.elb\.amazonaws\.com$/;

/** The load balancer's name (for `aws elb describe-load-balancers --load-balancer-names`), or undefined. */
export function elbNameOf(hostname: string): string | undefined {
    return ELB_HOSTNAME.exec(hostname)?.[1];
}

/**
 * Nothing serves there: the connection is refused or reset, the name is gone from DNS (ENOTFOUND) or the
 * resolver cannot say (EAI_AGAIN), or nothing answers in time (a load balancer's security group drops a port it no
 * longer listens on; the addresses of a deleted load balancer answer nothing).
 */
export function awsRefused(a: Answer): boolean {
    return a.status === 0 && /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE|no answer within)/
        .test(a.error ?? "");
}

export interface WaitOptions {
    /** Gives up after this long and returns the last answer (the caller's check then fails with it). */
    timeoutMs: number;
    /** Between attempts. */
    intervalMs?: number;
    /** Of each attempt. */
    requestTimeoutMs?: number;
    /** Progress, at most every 30 s. */
    log?: (message: string) => void;
    /** The run is stopping (Ctrl-C): return the last answer now. */
    stopped?: () => boolean;
    get?: (url: string, timeoutMs: number) => Promise<Answer>;
    sleep?: (ms: number) => Promise<void>;
    now?: () => number;
}

/** GETs `url` until `until(answer)` holds or time runs out; returns the last answer. */
export async function waitForAnswer(url: string, until: (a: Answer) => boolean, o: WaitOptions): Promise<Answer> {
    const fetch = o.get ?? get;
    const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const now = o.now ?? Date.now;
    const t0 = now();
    let lastLog = t0;
    for (;;) {
        const a = await fetch(url, o.requestTimeoutMs ?? 5000);
        if (until(a)) {
            return a;
        }
        const waited = now() - t0;
        if (waited >= o.timeoutMs || o.stopped?.()) {
            return a;
        }
        if (now() - lastLog >= 30_000) {
            o.log?.(`${url}: ${a.error ?? `HTTP ${a.status}`} after ${Math.round(waited / 1000)} s (waiting up to ${Math.round(o.timeoutMs / 1000)} s)`);
            lastLog = now();
        }
        await sleep(o.intervalMs ?? 5000);
    }
}

/** The first 200 from `url`: its DNS name resolves and the load balancer sends the request to a pod. */
export const firstOk = (a: Answer) => a.status === 200;
