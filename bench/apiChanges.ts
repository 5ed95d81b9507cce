/**
 * What the API server saw during a step, as `kubectl get -w` watches saw it:
 * - the step's first write: the app's Deployment or Service created, its spec changed, marked for deletion or
 *   deleted. It splits each step's time in two: the tool's own path until it writes (for Pulumi: the CLI, the
 *   program and the provider before the first request), and the waits after it;
 * - how many Ready pods the Service's EndpointSlices list, as it changes: when the scale's result (three Ready
 *   pods behind the Service) was there, apart from when either tool or the bench's poll noticed.
 * Each event is stamped by the shell that reads it as it arrives, so the bench's own blocking spawns do not
 * delay the stamps.
 */
import { ChildProcess, spawn } from "child_process";

/** Per kind, what a change is: the Deployment's generation (its spec), the Service's type and ports. */
const WATCHED: Record<string, string> = {
    deployments: "{.object.metadata.generation}",
    services: "{.object.spec.type}:{.object.spec.ports[*].port}",
};

export interface ChangeWatch {
    /** Seconds from `t0` (ms since the epoch) until the first change after it; throws when none was seen. */
    firstChangeSince(t0: number, step: string): number;
    /** Seconds from `t0` until the Service's EndpointSlices first listed `n` Ready pods after it; throws when never. */
    readyBehindServiceSince(t0: number, n: number, step: string): number;
    stop(): void;
}

/** One event of a watch: when the shell read it (seconds since the epoch), its type, the object's name, what it printed. */
interface Stamped { at: number; type: string; name: string; state: string }

/**
 * `kubectl get <kind> -w` in `namespace`, each event printed by `jsonpath` after its type and the object's name
 * and stamped as it is read; `listed` is false for the first list of what exists. The shell runs in its own
 * process group, so that killing the group ends kubectl with it.
 */
function stampedWatch(env: NodeJS.ProcessEnv, kubeconfig: string, kind: string, namespace: string, jsonpath: string,
    onEvent: (e: Stamped, listed: boolean) => void, onEnd: (why: string) => void): { child: ChildProcess; listed: Promise<void> } {
    const format = `{.type} {.object.metadata.name} ${jsonpath}{"\\n"}`;
    const script = 'kubectl --kubeconfig "$1" get "$2" -n "$3" -w --output-watch-events -o jsonpath="$4" | ' +
        'while IFS= read -r line; do printf "%s %s\\n" "$EPOCHREALTIME" "$line"; done';
    const child = spawn("bash", ["-c", script, "watch", kubeconfig, kind, namespace, format], { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let listed = false;
    let buffered = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
        buffered += d;
        const lines = buffered.split("\n");
        buffered = lines.pop()!;
        for (const line of lines) {
            const [at, type, name, ...state] = line.split(" ");
            onEvent({ at: Number(at), type, name, state: state.join(" ") }, listed);
        }
    });
    let err = "";
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
    child.on("exit", (code) => onEnd(`kubectl get ${kind} -w ended (${code}): ${err.trim()}`));
    // kubectl prints nothing for an empty namespace: listed once it has been connected for a moment.
    return {
        child,
        listed: new Promise((resolve) => setTimeout(() => {
            listed = true;
            resolve();
        }, 1500)),
    };
}

/**
 * Watches the Deployments, Services and EndpointSlices of `namespace` until stop(); resolves once each watch has
 * listed what exists. A watch that fails or ends early is named by the next question asked.
 */
export async function watchChanges(env: NodeJS.ProcessEnv, kubeconfig: string, service = "sample-service", namespace = "default"): Promise<ChangeWatch> {
    /** When each change was seen, in seconds since the epoch. */
    const changes: number[] = [];
    /** The last state seen per object ("deployments/sample-deployment" → "3|"), "gone" once deleted. */
    const last = new Map<string, string>();
    /** Ready pods listed per EndpointSlice of the Service, and each change of their sum: [when, how many]. */
    const readyPerSlice = new Map<string, number>();
    const ready: [number, number][] = [];
    let stopped = false;
    /** Why a watch ended before stop(), if one did. */
    let ended: string | undefined;
    const onEnd = (why: string) => {
        if (!stopped) {
            ended ??= why;
        }
    };
    const watches = Object.entries(WATCHED).map(([kind, jsonpath]) => stampedWatch(env, kubeconfig, kind, namespace, `${jsonpath}|{.object.metadata.deletionTimestamp}`,
        (e, listed) => {
            const key = `${kind}/${e.name}`;
            const now = e.type === "DELETED" ? "gone" : e.state;
            const before = last.get(key);
            last.set(key, now);
            // A watch starts with a list of what exists: not a change.
            if (listed && before !== now) {
                changes.push(e.at);
            }
        }, onEnd));
    watches.push(stampedWatch(env, kubeconfig, `endpointslices.discovery.k8s.io`, namespace, "{.object.metadata.ownerReferences[0].name} {.object.endpoints[*].conditions.ready}",
        (e) => {
            // kubectl's jsonpath keeps a {range} from one event to the next and fails on the second: a list, split on spaces.
            const [owner, ...conditions] = e.state.split(" ");
            if (owner !== service) {
                return;
            }
            readyPerSlice.set(e.name, e.type === "DELETED" ? 0 : conditions.filter((c) => c === "true").length);
            const sum = [...readyPerSlice.values()].reduce((a, b) => a + b, 0);
            if (ready.length === 0 || ready[ready.length - 1][1] !== sum) {
                ready.push([e.at, sum]);
            }
        }, onEnd));
    await Promise.all(watches.map((w) => w.listed));
    const seen = (what: string, at: number | undefined, t0: number, step: string) => {
        if (at === undefined) {
            throw new Error(`${step}: ${what} after it started${ended ? ` (${ended})` : ""}`);
        }
        return at - t0 / 1000;
    };
    return {
        firstChangeSince: (t0, step) => seen("no change of a Deployment or Service reached the API server", changes.find((at) => at * 1000 > t0), t0, step),
        readyBehindServiceSince: (t0, n, step) => seen(`the Service's EndpointSlices never listed ${n} Ready pods`, ready.find(([at, sum]) => at * 1000 > t0 && sum === n)?.[0], t0, step),
        stop() {
            stopped = true;
            for (const { child } of watches) {
                try {
                    process.kill(-child.pid!, "SIGTERM");
                } catch {
                    // Already gone.
                }
            }
        },
    };
}
