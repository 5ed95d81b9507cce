/**
 * When a step's change first reaches the API server: the first write to the app's Deployment or Service (created,
 * its spec changed, marked for deletion or deleted), as two `kubectl get -w` watches see it. It splits each
 * step's time in two: the tool's own path until it writes (for Pulumi: the CLI, the program and the provider
 * before the first request), and the waits after it (the same pods and load balancer for both tools). Each event
 * is stamped by the shell that reads it as it arrives, so the bench's own blocking spawns do not delay the stamps.
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
    stop(): void;
}

/**
 * Watches the Deployments and Services of `namespace` until stop(); resolves once both watches have listed what
 * exists. A watch that fails or ends early is named by the next firstChangeSince().
 */
export async function watchChanges(env: NodeJS.ProcessEnv, kubeconfig: string, namespace = "default"): Promise<ChangeWatch> {
    /** When each change was seen, in seconds since the epoch. */
    const changes: number[] = [];
    /** The last state seen per object ("deployments/sample-deployment" → "3|"), "gone" once deleted. */
    const last = new Map<string, string>();
    const children: ChildProcess[] = [];
    let stopped = false;
    /** Why a watch ended before stop(), if one did. */
    let ended: string | undefined;
    const started = Object.keys(WATCHED).map((kind) => new Promise<void>((resolve) => {
        const jsonpath = `{.type} {.object.metadata.name} ${WATCHED[kind]}|{.object.metadata.deletionTimestamp}{"\\n"}`;
        const script = 'kubectl --kubeconfig "$1" get "$2" -n "$3" -w --output-watch-events -o jsonpath="$4" | ' +
            'while IFS= read -r line; do printf "%s %s\\n" "$EPOCHREALTIME" "$line"; done';
        // Its own process group, so that stop() ends kubectl with the shell that reads it.
        const child = spawn("bash", ["-c", script, "watch", kubeconfig, kind, namespace, jsonpath], { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
        children.push(child);
        let listed = false;
        let buffered = "";
        child.stdout!.setEncoding("utf8").on("data", (d: string) => {
            buffered += d;
            const lines = buffered.split("\n");
            buffered = lines.pop()!;
            for (const line of lines) {
                const [at, type, name, state] = line.split(" ");
                const key = `${kind}/${name}`;
                const now = type === "DELETED" ? "gone" : state;
                const before = last.get(key);
                last.set(key, now);
                // A watch starts with a list of what exists: not a change.
                if (listed && before !== now) {
                    changes.push(Number(at));
                }
            }
        });
        let err = "";
        child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
        child.on("exit", (code) => {
            if (!stopped) {
                ended = `kubectl get ${kind} -w ended (${code}): ${err.trim()}`;
            }
        });
        // kubectl prints nothing for an empty namespace: listed once it has been connected for a moment.
        setTimeout(() => {
            listed = true;
            resolve();
        }, 1500);
    }));
    await Promise.all(started);
    return {
        firstChangeSince(t0, step) {
            const first = changes.find((at) => at * 1000 > t0);
            if (!first) {
                throw new Error(`${step}: no change of a Deployment or Service reached the API server after it started${ended ? ` (${ended})` : ""}`);
            }
            return first - t0 / 1000;
        },
        stop() {
            stopped = true;
            for (const c of children) {
                try {
                    process.kill(-c.pid!, "SIGTERM");
                } catch {
                    // Already gone.
                }
            }
        },
    };
}
