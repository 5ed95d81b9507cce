/**
 * `node -r ts-node/register/transpile-only bench/peak.ts <command> [args...]`: runs a command, prints its wall
 * time and the peak resident memory of its whole process tree (bench/measure.ts) as one JSON line.
 */
import { peakTreeMemory } from "./measure";

const [cmd, ...args] = process.argv.slice(2);
peakTreeMemory(cmd, args).then((r) => {
    if (r.code !== 0) {
        process.stderr.write(r.output);
    }
    console.log(JSON.stringify({ code: r.code, seconds: Number(r.seconds.toFixed(2)), peakMiB: r.peakMiB, largestMiB: r.largestMiB }));
    process.exitCode = r.code;
});
