/**
 * One measurement of program cost under Pulumi mocks, in a fresh process (so start-up and module loading
 * count): `node -r ts-node/register/transpile-only bench/programRun.ts <dev|local|copies> [N]`.
 * Uses the unit suite's mocks (harness/mocks.ts). Prints one JSON line: milliseconds from process start to
 * "all resources registered", registrations, peak RSS, and whether @pulumi/aws or @pulumi/eks were loaded.
 */
import * as path from "path";
import { performance } from "perf_hooks";
import { configMap, registrations, reset, runProgram, stageConfig, waitForRPCs, writeTempKubeconfig } from "../harness/mocks";

const [mode, nArg] = process.argv.slice(2);

async function main(): Promise<void> {
    if (mode === "dev") {
        await runProgram(stageConfig("dev"));
    } else if (mode === "local") {
        await runProgram({ ...stageConfig("local"), ...configMap({ kubeconfig: writeTempKubeconfig() }) });
    } else if (mode === "copies") {
        reset();
        const { KubeconfigCluster } = await import("../components/kubeconfigCluster");
        const { WebApp } = await import("../components/webApp");
        const cluster = new KubeconfigCluster("bench", { kubeconfig: "apiVersion: v1\nkind: Config\n" });
        for (let i = 0; i < Number(nArg); i++) {
            new WebApp(`app-${i}`, {
                provider: cluster.provider, image: "nginx:1.28.0", replicas: 2, containerPort: 80, port: 80, containerName: "nginx-container",
                resources: { limits: { cpu: "250m", memory: "128Mi" } },
            });
        }
        await waitForRPCs();
    } else {
        throw new Error(`unknown mode ${mode}`);
    }
    const loaded = Object.keys(require.cache);
    console.log(JSON.stringify({
        mode, n: nArg ? Number(nArg) : undefined,
        ms: Math.round(performance.now()),
        registered: registrations.length,
        peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
        loadedAws: loaded.some((f) => f.includes(`${path.sep}@pulumi${path.sep}aws${path.sep}`)),
        loadedEks: loaded.some((f) => f.includes(`${path.sep}@pulumi${path.sep}eks${path.sep}`)),
    }));
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
