/**
 * Where `pulumi destroy`'s time goes, on the embedded cluster's real nodes (a measurement kept for
 * bench/results.md, "destroy"; not part of npm run bench):
 *   node -r ts-node/register/transpile-only bench/destroyTrace.ts [repetitions]
 * Deploys the app with 3 replicas, then runs `pulumi destroy` while polling the API every 50 ms, and prints, in
 * seconds from the command's start: each line of pulumi's output as it arrived (a resource's deleting/deleted)
 * and when the app's pods, ReplicaSets, Deployment and Service were last seen.
 */
import { clusterCommand } from "../harness/clusterCommand";
import { copyProject } from "../harness/projectCopy";
import { mustSucceed, pulumiCommand } from "../harness/pulumiCommand";
import { createWorkspace, removeWorkspace } from "../harness/workspace";
import { toolchainValue } from "../toolchain/versions";
import { clusterApi } from "./observe";

const reps = Number(process.argv[2] ?? 3);

async function main(): Promise<void> {
    const ws = createWorkspace();
    const { pulumi, pulumiAsync } = pulumiCommand(ws, (l) => console.log(`    ${l}`));
    const { cluster } = clusterCommand(ws);
    copyProject(ws, () => {});
    cluster("start", "--node", "real");
    const api = clusterApi(ws.kubeconfig);
    try {
        mustSucceed(pulumi(["stack", "init", "local", "--secrets-provider", "passphrase"]));
        mustSucceed(pulumi(["config", "set", "image", toolchainValue("NGINX_IMAGE")]));
        mustSucceed(pulumi(["config", "set", "replicas", "3"]));
        for (let i = 0; i < reps; i++) {
            mustSucceed(pulumi(["up", "--yes", "--skip-preview"]));
            const t0 = Date.now();
            const lastSeen: Record<string, number> = {};
            const steps: string[] = [];
            let shown = 0;
            const run = pulumiAsync(["destroy", "--yes", "--skip-preview"], (soFar) => {
                const lines = soFar.split("\n");
                for (; shown < lines.length - 1; shown++) {
                    if (/delet/.test(lines[shown])) {
                        steps.push(`${((Date.now() - t0) / 1000).toFixed(2)} ${lines[shown].trim()}`);
                    }
                }
            });
            let done = false;
            void run.done.then(() => (done = true));
            while (!done) {
                const at = (Date.now() - t0) / 1000;
                for (const [kind, p] of [["pods", "/api/v1/namespaces/default/pods?labelSelector=app%3Dsample-app"],
                    ["replicasets", "/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3Dsample-app"],
                    ["deployment", "/apis/apps/v1/namespaces/default/deployments?labelSelector=app%3Dsample-app"],
                    ["service", "/api/v1/namespaces/default/services?labelSelector=app%3Dsample-app"]] as const) {
                    const items = (await api.get(p).catch(() => undefined))?.items ?? [];
                    if (items.length > 0) {
                        lastSeen[kind] = at;
                    }
                }
                await new Promise((r) => setTimeout(r, 50));
            }
            const r = await run.done;
            mustSucceed(r);
            console.log(`destroy ${i + 1}: ${r.seconds.toFixed(2)} s; last seen: ${Object.entries(lastSeen).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ")}`);
            console.log(`  ${steps.join("\n  ")}`);
        }
    } finally {
        api.close();
        cluster("stop");
        removeWorkspace(ws);
    }
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
