/**
 * The app's own readiness check: what `pulumi up` waits for after the Kubernetes provider's awaits, so that it
 * returns only when the app serves what was asked for. The provider's Deployment await ends when the new pods
 * are Ready, while the old ones may still answer (they drain, and kube-proxy and load balancers drop them a
 * moment later); its Service await here is only "the load balancer has an address" (`pulumi.com/waitFor`, not
 * the built-in await and its fixed 10 s settle after every Endpoints change). This check adds, polled every
 * 0.1 s through the Kubernetes API (components/kubernetesApi.ts):
 *   - no pod of an earlier revision is left (after an image change, a pod that is gone cannot answer);
 *   - as many Ready pods behind the Service (its EndpointSlices) as the Deployment wants, none of them old;
 *   - with `http`, the url answers over HTTP from this machine (after a port change: kube-proxy, or the
 *     cloud's load balancer, applied the new port).
 * It fails `pulumi up` after `timeoutSeconds` (rolloutTimeout), saying which of these is missing and why.
 */
import * as http from "http";

import type { KubernetesApi } from "./kubernetesApi";

export interface AppReadinessTarget {
    namespace: string;
    deployment: string;
    service: string;
    /** Label selector of the app's pods, e.g. `app=sample-app`. */
    selector: string;
    /** The url to GET, when this machine can reach the load balancer; unset: API checks only. */
    url?: string;
    timeoutSeconds: number;
    /** Seconds an old pod drains before it stops (for the message). */
    drainSeconds: number;
    /** Progress: called with what is missing, when that changes. */
    log: (message: string) => void;
}

const REVISION = "deployment.kubernetes.io/revision";
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One GET on a new connection: the status, or the connection error (ECONNREFUSED, a timeout, an abort). */
function answer(url: string, timeoutMs: number, signal: AbortSignal): Promise<{ status?: number; error?: string }> {
    return new Promise((resolve) => {
        const req = http.get(url, { agent: false, timeout: timeoutMs, signal }, (res) => {
            res.resume();
            res.on("end", () => resolve({ status: res.statusCode }));
            res.on("error", (e) => resolve({ error: e.message }));
        });
        req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
        req.on("error", (e) => resolve({ error: (e as NodeJS.ErrnoException).code ?? e.message }));
    });
}

/** Between passes of the check. */
const POLL_MS = 100;
/** Per GET: a server that is slow to answer still counts. */
const ANSWER_TIMEOUT_MS = 1000;
/** GETs left pending at once: a new one every pass (0.1 s) covers one timeout's worth. */
const MAX_PENDING = 10;

/**
 * The url asked over HTTP, a new GET on a new connection at each `check`, without waiting for an earlier one
 * that has not answered: a connection made while the load balancer's or kube-proxy's rules change can hang
 * until its timeout (its SYN dropped), when one made a moment later answers at once. On the embedded cluster
 * the first GET after a create hung for its whole second, and `pulumi up` with it. A check counts an answer
 * to any GET, its own or an earlier one, that comes while it waits. `close` aborts the GETs still pending,
 * which would keep the program from ending.
 */
export class UrlProbe {
    private lastError: string | undefined;
    private pending = 0;
    private readonly aborts = new AbortController();
    /** The checks waiting now: each is told of an answer. */
    private readonly waiting = new Set<(error?: string) => void>();

    constructor(private readonly url: string) {}

    /** Undefined when a GET answered while this waited; else why not, after waiting up to `sliceMs`. */
    async check(sliceMs: number): Promise<string | undefined> {
        let settle: (error?: string) => void = () => {};
        const result = new Promise<string | undefined>((resolve) => { settle = resolve; });
        this.waiting.add(settle);
        const timer = setTimeout(() => settle(this.lastError ?? "no answer yet"), sliceMs);
        if (this.pending < MAX_PENDING) {
            this.pending++;
            void answer(this.url, ANSWER_TIMEOUT_MS, this.aborts.signal).then((a) => {
                this.pending--;
                if (a.error) {
                    this.lastError = a.error;
                    settle(a.error);
                } else {
                    for (const tell of this.waiting) {
                        tell(undefined);
                    }
                }
            });
        }
        try {
            return await result;
        } finally {
            clearTimeout(timer);
            this.waiting.delete(settle);
        }
    }

    close(): void {
        this.aborts.abort();
    }
}

/** Why a pod is not Ready, in the words of its status (waiting reason, termination, or the failing probe). */
function whyNotReady(pod: any): string {
    const statuses: any[] = pod.status?.containerStatuses ?? [];
    for (const s of statuses) {
        if (s.state?.waiting?.reason) {
            return `${s.state.waiting.reason}${s.state.waiting.message ? `: ${s.state.waiting.message}` : ""}`;
        }
        if (s.state?.terminated) {
            return `exited ${s.state.terminated.exitCode} (${s.state.terminated.reason ?? "terminated"})`;
        }
    }
    const conditions: any[] = pod.status?.conditions ?? [];
    const unscheduled = conditions.find((c) => c.type === "PodScheduled" && c.status === "False");
    if (unscheduled) {
        return `${unscheduled.reason ?? "not scheduled"}: ${unscheduled.message ?? ""}`.trim();
    }
    const ready = conditions.find((c) => c.type === "Ready");
    if (ready?.status === "True") {
        // The kubelet's probe passed; the EndpointSlice controller has not listed the pod as a ready endpoint yet.
        return "Ready, not yet a ready endpoint of the Service";
    }
    if (statuses.length > 0 && statuses.every((s) => s.state?.running)) {
        return `running, readiness probe not passing${statuses.some((s) => s.restartCount > 0) ? ` (restarted ${statuses.map((s) => s.restartCount).join("/")} times)` : ""}`;
    }
    return ready?.message ?? pod.status?.phase ?? "pending";
}

/**
 * What is still missing (empty: the app serves what was asked for). `probe`: the url's, kept from one pass to the
 * next (else a new one, for this pass alone).
 */
export async function missing(api: KubernetesApi, t: AppReadinessTarget, probe?: UrlProbe): Promise<string[]> {
    const apps = `/apis/apps/v1/namespaces/${t.namespace}`;
    const selector = `labelSelector=${encodeURIComponent(t.selector)}`;
    const d = await api.get(`${apps}/deployments/${t.deployment}`);
    if (!d) {
        return [`Deployment ${t.deployment} not found`];
    }
    if ((d.status?.observedGeneration ?? 0) < d.metadata.generation) {
        return ["the Deployment controller has not seen the change yet"];
    }
    const [replicaSets, pods, slices] = await Promise.all([
        api.get(`${apps}/replicasets?${selector}`),
        api.get(`/api/v1/namespaces/${t.namespace}/pods?${selector}`),
        api.get(`/apis/discovery.k8s.io/v1/namespaces/${t.namespace}/endpointslices?labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${t.service}`)}`),
    ]);
    const owned = (replicaSets?.items ?? []).filter((rs: any) => (rs.metadata.ownerReferences ?? []).some((o: any) => o.uid === d.metadata.uid));
    const current = owned.find((rs: any) => rs.metadata.annotations?.[REVISION] === d.metadata.annotations?.[REVISION]);
    if (!current) {
        return [`no ReplicaSet of revision ${d.metadata.annotations?.[REVISION] ?? "(none yet)"}`];
    }
    const ownedUids = new Set(owned.map((rs: any) => rs.metadata.uid));
    const appPods = (pods?.items ?? []).filter((p: any) => (p.metadata.ownerReferences ?? []).some((o: any) => ownedUids.has(o.uid)));
    const ofCurrent = (p: any) => (p.metadata.ownerReferences ?? []).some((o: any) => o.uid === current.metadata.uid);
    const problems: string[] = [];
    const old = appPods.filter((p: any) => !ofCurrent(p));
    if (old.length > 0) {
        problems.push(`${old.length} pod${old.length === 1 ? "" : "s"} of an earlier revision still there (${old.map((p: any) => p.metadata.name).join(", ")}; ` +
            `each drains ${t.drainSeconds} s once its replacement is ready, then stops)`);
    }
    const want: number = d.spec.replicas ?? 1;
    const ready = new Set<string>();
    for (const slice of slices?.items ?? []) {
        for (const e of slice.endpoints ?? []) {
            if (e.conditions?.ready === true && e.targetRef?.uid) {
                ready.add(e.targetRef.uid);
            }
        }
    }
    const readyCurrent = appPods.filter((p: any) => ofCurrent(p) && ready.has(p.metadata.uid)).length;
    if (readyCurrent < want) {
        const unready = appPods.filter((p: any) => ofCurrent(p) && !p.metadata.deletionTimestamp && !ready.has(p.metadata.uid));
        problems.push(`${readyCurrent} of ${want} pods ready behind Service ${t.service}` +
            (unready.length ? ` (${unready.slice(0, 3).map((p: any) => `${p.metadata.name}: ${whyNotReady(p)}`).join("; ")})` : ""));
    }
    if (t.url && want > 0) {
        // Kept from pass to pass, a pass waits for an answer at most until the next; alone, a GET's whole timeout.
        const own = probe ? undefined : new UrlProbe(t.url);
        try {
            const error = probe ? await probe.check(POLL_MS) : await own!.check(ANSWER_TIMEOUT_MS + POLL_MS);
            if (error) {
                problems.push(`${t.url} does not answer from this machine (${error})`);
            }
        } finally {
            own?.close();
        }
    }
    return problems;
}

/** Waits until nothing is missing; throws after `t.timeoutSeconds` with what still was. */
export async function waitUntilServing(api: KubernetesApi, t: AppReadinessTarget): Promise<void> {
    const deadline = Date.now() + t.timeoutSeconds * 1000;
    const probe = t.url ? new UrlProbe(t.url) : undefined;
    let shown = "";
    try {
        for (;;) {
            let now: string[];
            try {
                now = await missing(api, t, probe);
            } catch (e) {
                now = [`the Kubernetes API: ${(e as Error).message}`];
            }
            if (now.length === 0) {
                return;
            }
            if (now.join("; ") !== shown) {
                shown = now.join("; ");
                t.log(`waiting: ${shown}`);
            }
            if (Date.now() > deadline) {
                throw new Error(`the app does not serve what was asked for after ${t.timeoutSeconds} s (rolloutTimeout): ${shown}`);
            }
            await wait(POLL_MS);
        }
    } finally {
        probe?.close();
    }
}
