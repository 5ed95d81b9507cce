/**
 * `npm run cluster` (cluster/cluster.sh) for a workspace's embedded cluster, and the processes it recorded: the
 * cluster writes each one's PID to <cluster dir>/pids on start, and every PID seen is kept over restarts.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Workspace } from "./workspace";

const repo = path.resolve(__dirname, "..");

export interface ClusterCommand {
    /** `cluster/cluster.sh <args>` (start, stop, ...), its output shown as it comes. */
    cluster(...args: string[]): void;
    /** The PIDs the cluster recorded on its last start. */
    clusterPids(): number[];
    /** Every PID the cluster ever recorded through this command (restarts included). */
    allClusterPids(): number[];
}

export function clusterCommand(ws: Pick<Workspace, "clusterDir" | "env">): ClusterCommand {
    const everyClusterPid = new Set<number>();
    const clusterPids = (): number[] => {
        const file = path.join(ws.clusterDir, "pids");
        return fs.existsSync(file)
            ? fs.readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((l) => Number(l.split(" ")[1]))
            : [];
    };
    return {
        cluster: (...args) => {
            execFileSync("bash", [path.join(repo, "cluster", "cluster.sh"), ...args], { env: ws.env, stdio: "inherit" });
            clusterPids().forEach((pid) => everyClusterPid.add(pid));
        },
        clusterPids,
        allClusterPids: () => [...everyClusterPid],
    };
}
