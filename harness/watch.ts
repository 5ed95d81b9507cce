/** A value sampled in the background while something else runs (a Deployment's replicas during a `pulumi up`). */
import { setTimeout as sleep } from "timers/promises";

/** Samples `sample()` every 200 ms until stopped; errors are recorded as -1. */
export function watch(sample: () => number): { stop: () => Promise<number[]> } {
    const seen: number[] = [];
    let watching = true;
    const loop = (async () => {
        while (watching) {
            try {
                seen.push(sample());
            } catch {
                seen.push(-1);
            }
            await sleep(200);
        }
    })();
    return { stop: async () => { watching = false; await loop; return seen; } };
}
