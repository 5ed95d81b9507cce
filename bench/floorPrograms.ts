/**
 * The least programs a Pulumi command runs, for the floor of the bench's verdict (bench/bench.ts): what any Pulumi
 * program through the Kubernetes provider costs before it has code or objects of its own. Each is made in a folder
 * of the workspace with this project's start-up (Pulumi.yaml's nodeargs, scripts/startup.js), so that the floor
 * has what any program can have.
 */
import * as fs from "fs";
import * as path from "path";
import type { ChangeWatch } from "./apiChanges";
import { median, timed } from "./measure";

const repo = path.resolve(__dirname, "..");

export interface FloorWorkspace {
    /** The workspace's project copy (its scripts/startup.js); the programs' folders are made in it. */
    dir: string;
    kubeconfig: string;
    /** Runs `cmd args` in `cwd` with the workspace's environment; throws unless it exits 0. */
    run: (cmd: string, args: string[], cwd: string) => void;
    changes: ChangeWatch;
}

type Kind = "empty" | "provider" | "service";

/**
 * - "empty": `module.exports = {}`, no resource but the stack's own;
 * - "provider": only a Kubernetes provider bound to the cluster's kubeconfig (a secret, as this program's): its
 *   preview starts and configures the provider (the server's version, its API schema);
 * - "service": that provider and one Service (ClusterIP, no selector, nothing to await) on the port in port.txt.
 * Each is deployed, so that its preview has no changes, as this program's no-op. Returns the folder.
 */
function minimalProgram(w: FloorWorkspace, kind: Kind): string {
    const dir = path.join(w.dir, `minimal-${kind}`);
    fs.mkdirSync(dir, { recursive: true });
    const startup = path.join(w.dir, "scripts", "startup.js");
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"),
        `name: bench-${kind}\nmain: index.js\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n    nodeargs: --require ${startup}\n`);
    const provider = [
        `const fs = require("fs");`,
        `const pulumi = require("@pulumi/pulumi");`,
        `const { Provider } = require("@pulumi/kubernetes/provider");`,
        `const provider = new Provider("cluster", { kubeconfig: pulumi.secret(fs.readFileSync(${JSON.stringify(w.kubeconfig)}, "utf8")), enableServerSideApply: true });`,
    ];
    const service = [
        `const { Service } = require("@pulumi/kubernetes/core/v1");`,
        `const port = Number(fs.readFileSync(__dirname + "/port.txt", "utf8"));`,
        `new Service("floor", { metadata: { name: "bench-floor-pulumi", namespace: "default", annotations: { "pulumi.com/skipAwait": "true" } },`,
        `    spec: { type: "ClusterIP", ports: [{ name: "http", port }] } }, { provider });`,
    ];
    fs.writeFileSync(path.join(dir, "index.js"),
        [...(kind === "empty" ? ["module.exports = {};"] : provider), ...(kind === "service" ? service : []), ""].join("\n"));
    fs.writeFileSync(path.join(dir, "port.txt"), "1000");
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: `bench-${kind}`, main: "index.js" }));
    fs.symlinkSync(path.join(repo, "node_modules"), path.join(dir, "node_modules"));
    w.run("pulumi", ["--non-interactive", "stack", "init", "bench", "--secrets-provider", "passphrase"], dir);
    w.run("pulumi", ["--non-interactive", "up", "--yes", "--skip-preview"], dir);
    return dir;
}

/** Median of `reps` no-op previews of a minimal program, made first. */
export function minimalProgramPreview(w: FloorWorkspace, kind: "empty" | "provider", reps: number): number {
    const dir = minimalProgram(w, kind);
    return median(Array.from({ length: reps }, () => timed(() => w.run("pulumi", ["--non-interactive", "preview", "--expect-no-changes"], dir))));
}

/**
 * The least time to a first write: `pulumi up` of the "service" program after its port changed, against
 * `kubectl apply` of the same Service under another name, alternating; each until its write reached the API
 * server (the watch). Medians of `reps`; the pulumi stack is destroyed after.
 */
export async function firstWriteFloor(w: FloorWorkspace, reps: number): Promise<{ pulumi: number; kubectl: number }> {
    const dir = minimalProgram(w, "service");
    const yaml = path.join(dir, "service.yml");
    const pulumi: number[] = [];
    const kubectl: number[] = [];
    // The watch's events are read between the bench's blocking spawns: a moment for them before each question.
    const settle = () => new Promise((resolve) => setTimeout(resolve, 300));
    for (let i = 1; i <= reps; i++) {
        fs.writeFileSync(path.join(dir, "port.txt"), String(1000 + i));
        let t0 = Date.now();
        w.run("pulumi", ["--non-interactive", "up", "--yes", "--skip-preview"], dir);
        await settle();
        pulumi.push(w.changes.firstChangeSince(t0, "the floor program's pulumi up"));
        fs.writeFileSync(yaml, `apiVersion: v1\nkind: Service\nmetadata: {name: bench-floor-kubectl, namespace: default}\nspec:\n  type: ClusterIP\n  ports: [{name: http, port: ${1000 + i}}]\n`);
        t0 = Date.now();
        w.run("kubectl", ["--kubeconfig", w.kubeconfig, "apply", "-f", yaml], dir);
        await settle();
        kubectl.push(w.changes.firstChangeSince(t0, "kubectl apply of the floor's Service"));
    }
    w.run("pulumi", ["--non-interactive", "destroy", "--yes", "--skip-preview"], dir);
    w.run("kubectl", ["--kubeconfig", w.kubeconfig, "delete", "-f", yaml], dir);
    return { pulumi: median(pulumi), kubectl: median(kubectl) };
}
