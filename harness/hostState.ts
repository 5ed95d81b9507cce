/**
 * What the real nodes may change on the machine, read before `cluster start` and after `cluster stop` to prove the
 * stop leaves the machine as it found it: kernel settings, network links and namespaces, iptables rules and
 * nftables tables, mounts, cgroups, paths under /etc, /opt, /run and /var, the temporary and home folders, and
 * cluster processes.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";

export type HostState = Record<string, string[]>;

/** Values the kernel changes on its own (counters, the last PID, random pools). */
const VOLATILE_SYSCTL = /^(fs\.(dentry-state|file-nr|inode-nr|inode-state|quota\.|aio-nr)|kernel\.(ns_last_pid|random\.|pty\.nr)|net\.netfilter\.nf_conntrack_count)/;
const CLUSTER_PROCESS = /(^|\/)(etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kwok|kubelet|kube-proxy|containerd|containerd-shim[-\w]*|nginx|apache2|pause)( |$)/;

const lines = (cmd: string, args: string[]): string[] =>
    execFileSync(cmd, args, { encoding: "utf8", maxBuffer: 64 << 20 }).split("\n").filter(Boolean);

function listDirs(roots: string[], depth: number): string[] {
    const found: string[] = [];
    const walk = (dir: string, left: number) => {
        let entries: fs.Dirent[];
        try {
            entries = fs.readdirSync(dir, { withFileTypes: true });
        } catch {
            return;
        }
        for (const e of entries) {
            const p = `${dir}/${e.name}`;
            found.push(p);
            if (left > 1 && e.isDirectory()) {
                walk(p, left - 1);
            }
        }
    };
    roots.forEach((r) => walk(r, depth));
    return found;
}

export function hostState(): HostState {
    return {
        "kernel settings": lines("sysctl", ["-a"]).filter((l) => !VOLATILE_SYSCTL.test(l)),
        // Without the index and counters, which change whenever any link comes and goes.
        "network links": lines("ip", ["-o", "link", "show"]).map((l) => l.replace(/^\d+: /, "").replace(/\\.*$/, "").trim()),
        "network namespaces": lines("ip", ["netns", "list"]),
        "iptables rules and chains": [...lines("iptables-save", []), ...lines("ip6tables-save", [])]
            .filter((l) => !l.startsWith("#")).map((l) => l.replace(/ \[\d+:\d+\]$/, "")),
        "nftables tables": lines("nft", ["list", "tables"]),
        mounts: fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter(Boolean).map((l) => l.split(" ")[4]),
        cgroups: listDirs(["/sys/fs/cgroup"], 2).filter((p) => p.includes("eks-nginx") || p.endsWith("/kubepods")),
        paths: listDirs(["/etc", "/opt", "/run", "/var/lib", "/var/log", "/var/run"], 2),
        // What commands leave in the temporary folder and the home folder (kubectl's cache, the provider's kubeconfig copies).
        "temporary and home folders": listDirs([os.tmpdir(), os.homedir()], 1),
        "cluster processes": fs.readdirSync("/proc").filter((e) => /^\d+$/.test(e)).flatMap((pid) => {
            try {
                const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
                const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
                return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z" && CLUSTER_PROCESS.test(cmd) ? [`${pid} ${cmd.slice(0, 120)}`] : [];
            } catch {
                return [];
            }
        }),
    };
}

/** "category: + added / - removed" lines for every difference; empty when the machine is as before. */
export function hostChanges(before: HostState, after: HostState = hostState()): string[] {
    return Object.keys(before).flatMap((category) => {
        const b = new Set(before[category]);
        const a = new Set(after[category]);
        return [
            ...[...a].filter((x) => !b.has(x)).map((x) => `${category}: + ${x}`),
            ...[...b].filter((x) => !a.has(x)).map((x) => `${category}: - ${x}`),
        ];
    });
}

/** Listening TCP/UDP sockets of cluster processes whose address is not a loopback one, as `ss` prints them. */
export function clusterSocketsOffLoopback(): string[] {
    return lines("ss", ["-H", "-l", "-t", "-u", "-n", "-p"]).filter((l) => {
        const local = l.trim().split(/\s+/)[4] ?? "";
        const names = [...l.matchAll(/\("([^"]+)",pid=/g)].map((m) => m[1]);
        return names.some((n) => CLUSTER_PROCESS.test(n)) && !/^(127\.|\[::1\]|::1)/.test(local);
    });
}
