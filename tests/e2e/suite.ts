/**
 * How an end-to-end suite runs: e2eSuite() makes a workspace (a copy of the project in a temporary folder, so
 * stack config edits and state never touch the checkout) and the tools of its steps; the suite's run() starts its
 * own embedded cluster and the `local` stack, runs the steps, and ends with an "N passed, N failed" line; whatever
 * happens, it stops the cluster and removes the workspace. Nothing is made on import: a suite's own file (the
 * program tests/e2e/run.sh starts) calls e2eSuite().
 *
 * Run through tests/e2e/run.sh (npm run test:e2e), which sets up PATH and the Pulumi environment.
 */
import * as fs from "fs";
import { ClusterCommand, clusterCommand } from "../../harness/clusterCommand";
import { hostChanges, hostState, HostState } from "../../harness/hostState";
import { isRunning, stillRunning } from "../../harness/processes";
import { copyProject } from "../../harness/projectCopy";
import { mustSucceed } from "../../harness/pulumiCommand";
import { createWorkspace, removeWorkspace } from "../../harness/workspace";
import { StepTools, stepTools } from "./tools";

export interface Suite extends StepTools, ClusterCommand {
    /** The machine as it was before the suite's real nodes started (kernel settings, links, iptables, mounts, ...). */
    hostBefore(): HostState;
    /**
     * `cluster stop` with real nodes, then the checks that it left nothing: every process the cluster ever recorded
     * (`expectedPids` of them: per start 8, and 4 per real node) has ended, and the machine is as `hostBefore()` found it.
     */
    stopClusterLeavingNothing(expectedPids: number): Promise<void>;
    /**
     * The checks of stopClusterLeavingNothing for a cluster something else stopped (README's `npm run local --
     * destroy`): every one of `pids` (`expectedPids` of them) has ended, and the machine is as before.
     */
    checkLeftNothing(what: string, pids: number[], expectedPids: number): Promise<void>;
    /**
     * Sets up the project copy, the cluster and the `local` stack; `body` runs the steps; prints the wall times and
     * the "N passed, N failed" line (the exit status is 0 only when all `expectedSteps` passed); cleans up.
     */
    run(expectedSteps: number, body: () => Promise<void>): void;
}

/**
 * The suite `name` in a new workspace, on a cluster with three real nodes (pods run, the load balancer answers on
 * loopback) or kwok's three fake nodes in three zones. The workspace is made now; the rest by run(), unless
 * `setup` is "none": then run() makes no project copy, cluster or stack (the suite's steps do, as README's
 * `npm start` does) and only records the machine first.
 */
export function e2eSuite(name: string, node: "real" | "kwok", setup: "stack" | "none" = "stack"): Suite {
    const ws = createWorkspace();
    const tools = stepTools(ws);
    const cluster = clusterCommand(ws);
    let machineBefore: HostState | undefined;
    const hostBefore = (): HostState => {
        if (!machineBefore) {
            throw new Error("no host state recorded: the suite runs on kwok nodes");
        }
        return machineBefore;
    };
    const checkLeftNothing = async (what: string, pids: number[], expectedPids: number): Promise<void> => {
        const running = await stillRunning(pids);
        tools.check(`${what}: every cluster process ended (${expectedPids}: per start 5 control plane, the API's forwarder, the load balancer and its controller; per node its init, containerd, kubelet, kube-proxy)`,
            running.length === 0 && pids.length === expectedPids, `${pids.length} recorded, running now: ${running.join(",") || "none"}`);
        const changes = hostChanges(hostBefore());
        tools.check("the machine as before start: processes, containers, mounts, namespaces, links, iptables, nftables, cgroups, paths, kernel settings",
            changes.length === 0, changes.length ? changes.slice(0, 20).join("\n      ") : "no difference");
    };
    const stopClusterLeavingNothing = async (expectedPids: number): Promise<void> => {
        cluster.cluster("stop");
        await checkLeftNothing("cluster stop", cluster.allClusterPids(), expectedPids);
    };
    const run = (expectedSteps: number, body: () => Promise<void>): void => {
        const t0 = Date.now();
        console.log(`${name}: ${node === "real" ? "real nodes" : "kwok's fake nodes"}; project copy and state in ${ws.dir}`);
        (async () => {
            if (setup === "stack") {
                copyProject(ws, tools.log);
            }
            if (node === "real") {
                machineBefore = hostState();
            }
            if (setup === "stack") {
                cluster.cluster("start", "--node", node);
                mustSucceed(tools.pulumi(["stack", "init", "local", "--secrets-provider", "passphrase"]));
            }
            await body();
            console.log(`\nwall times:\n  ${tools.timings.join("\n  ")}\n  whole ${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        })()
            .catch((e) => tools.fail(`FAIL setup: ${(e as Error).message}`))
            .finally(() => {
                // Whatever happened, leave no cluster process, and nothing the real nodes changed, behind.
                if (cluster.allClusterPids().some(isRunning) || fs.existsSync(ws.clusterDir)) {
                    try {
                        cluster.cluster("stop");
                    } catch {
                        /* reported below */
                    }
                }
                removeWorkspace(ws);
                const { passed, failed } = tools.counts();
                console.log(`\n${name}: ${passed} passed, ${failed} failed`);
                process.exitCode = failed === 0 && passed === expectedSteps ? 0 : 1;
            });
    };
    return { ...tools, ...cluster, hostBefore, stopClusterLeavingNothing, checkLeftNothing, run };
}
