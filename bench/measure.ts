/** What both parts of the benchmark measure with: wall time of a call, the median of samples, peak memory. */
import { spawn } from "child_process";
import * as fs from "fs";

/** Seconds `fn` took (wall clock). */
export function timed(fn: () => void): number {
    const t0 = process.hrtime.bigint();
    fn();
    return Number(process.hrtime.bigint() - t0) / 1e9;
}

export function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const PAGE = 4096;

/** Resident memory of `root` and each of its descendants now, in bytes (from /proc; Linux only). */
export function treeRss(root: number): number[] {
    const children = new Map<number, number[]>();
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) {
            continue;
        }
        try {
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
            children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
        } catch {
            /* gone meanwhile */
        }
    }
    const rss: number[] = [];
    for (let todo = [root]; todo.length > 0;) {
        const pid = todo.pop()!;
        try {
            rss.push(Number(fs.readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]) * PAGE);
        } catch {
            /* exited meanwhile */
        }
        todo.push(...(children.get(pid) ?? []));
    }
    return rss;
}

export interface TreeRun {
    code: number;
    output: string;
    /** Wall seconds (sampling costs some CPU: time runs without it where time matters). */
    seconds: number;
    /** Highest sum of the resident memory of the command and all its descendants, sampled every 10 ms, MiB. */
    peakMiB: number;
    /** Highest resident memory of any single one of them, MiB. */
    largestMiB: number;
}

/** Runs a command, sampling the resident memory of its whole process tree (CLI, plugins, Node.js, tsc). */
export function peakTreeMemory(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<TreeRun> {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let peak = 0;
    let largest = 0;
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    const sample = () => {
        if (child.pid !== undefined) {
            const rss = treeRss(child.pid);
            peak = Math.max(peak, rss.reduce((a, b) => a + b, 0));
            largest = Math.max(largest, ...rss);
        }
    };
    const timer = setInterval(sample, 10);
    sample();
    return new Promise((resolve, reject) => {
        child.once("error", (e) => {
            clearInterval(timer);
            reject(e);
        });
        child.once("close", (code) => {
            clearInterval(timer);
            resolve({ code: code ?? -1, output, seconds: Number(process.hrtime.bigint() - t0) / 1e9, peakMiB: Math.round(peak / 2 ** 20), largestMiB: Math.round(largest / 2 ** 20) });
        });
    });
}
