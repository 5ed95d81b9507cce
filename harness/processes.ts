/** Processes as /proc shows them: alive or not, waited for, and the tree below one of them. */
import * as fs from "fs";
import { setTimeout as sleep } from "timers/promises";

/** Alive and not a zombie (an orphan's exit status may stay unreaped where init does not reap). */
export function isRunning(pid: number): boolean {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
    } catch {
        return false;
    }
}

/** The PIDs still running among `pids` after up to `seconds` (an exiting process takes a moment). */
export async function stillRunning(pids: number[], seconds = 10): Promise<number[]> {
    for (let waited = 0; waited < seconds * 1000 && pids.some(isRunning); waited += 200) {
        await sleep(200);
    }
    return pids.filter(isRunning);
}

/** Each process's parent and name, from /proc. */
function processTable(): Map<number, { ppid: number; comm: string }> {
    const table = new Map<number, { ppid: number; comm: string }>();
    for (const entry of fs.readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
        try {
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
            table.set(Number(entry), { ppid: Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]), comm });
        } catch {
            /* gone meanwhile */
        }
    }
    return table;
}

/** Every descendant of `pid` (children, their children, ...), with its name and depth (1: a child). */
export function descendants(pid: number): { pid: number; comm: string; depth: number }[] {
    const table = processTable();
    const found: { pid: number; comm: string; depth: number }[] = [];
    let frontier = [pid];
    for (let depth = 1; frontier.length > 0; depth++) {
        const next = [...table].filter(([, p]) => frontier.includes(p.ppid)).map(([child, p]) => ({ pid: child, comm: p.comm, depth }));
        found.push(...next);
        frontier = next.map((p) => p.pid);
    }
    return found;
}

/**
 * The PIDs in a cgroup and every cgroup below it, from the pids hierarchy (which holds every process), e.g.
 * `eks-nginx` for all the embedded cluster's nodes and pods, `eks-nginx/node-2` for one node; none when there is
 * no such cgroup.
 */
export function cgroupProcesses(group: string): number[] {
    const root = `/sys/fs/cgroup/pids/${group}`;
    if (!fs.existsSync(root)) {
        return [];
    }
    return (fs.readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith("cgroup.procs"))
        .flatMap((f) => fs.readFileSync(`${root}/${f}`, "utf8").split("\n").filter(Boolean).map(Number));
}
