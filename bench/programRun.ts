/**
 * One measurement of program cost under Pulumi mocks, in a fresh process (so start-up and module loading
 * count): `node -r ts-node/register/transpile-only bench/programRun.ts <dev|local|copies> [N]`.
 * Prints one JSON line: milliseconds from process start to "all resources registered", registrations,
 * peak RSS, and whether @pulumi/aws or @pulumi/eks were loaded.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { performance } from "perf_hooks";
import * as pulumi from "@pulumi/pulumi";

const [mode, nArg] = process.argv.slice(2);
let registered = 0;

void pulumi.runtime.setMocks({
    newResource(args) {
        registered++;
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === "eks:index:Cluster") {
            state.kubeconfigJson = "{}";
            state.eksCluster = { name: "bench", vpcConfig: { clusterSecurityGroupId: "sg-0" } };
        } else if (args.type === "awsx:ec2:Vpc") {
            Object.assign(state, { vpcId: "vpc-0", publicSubnetIds: ["subnet-1", "subnet-2"], privateSubnetIds: ["subnet-3", "subnet-4"] });
        }
        return { id: args.custom ? `${args.name}-id` : undefined, state };
    },
    call: (args) => args.inputs,
}, "eks-nginx", "bench", false);

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };

function config(values: Record<string, unknown>): Record<string, string> {
    return Object.fromEntries(Object.entries(values).map(([k, v]) => [`eks-nginx:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
}

async function main(): Promise<void> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eks-nginx-bench-"));
    const kubeconfig = path.join(dir, "kubeconfig");
    fs.writeFileSync(kubeconfig, "apiVersion: v1\nkind: Config\ncurrent-context: bench\n");
    try {
        if (mode === "dev" || mode === "local") {
            pulumi.runtime.setAllConfig(mode === "dev"
                ? config({ cluster: { instanceTypes: ["t2.micro"], desiredSize: 3, minSize: 1, maxSize: 4 } })
                : config({ target: "kubeconfig", kubeconfig, serviceType: "NodePort" }));
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const program: () => Promise<unknown> = require("../index");
            await program();
        } else if (mode === "copies") {
            const { KubeconfigCluster } = await import("../components/kubeconfigCluster");
            const { WebApp } = await import("../components/webApp");
            const cluster = new KubeconfigCluster("bench", { kubeconfig: "apiVersion: v1\nkind: Config\n" });
            for (let i = 0; i < Number(nArg); i++) {
                new WebApp(`app-${i}`, {
                    provider: cluster.provider, image: "nginx:1.28.0", replicas: 2, containerPort: 80, port: 80,
                    resources: { limits: { cpu: "250m", memory: "128Mi" } },
                });
            }
        } else {
            throw new Error(`unknown mode ${mode}`);
        }
        await waitForRPCs();
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
    const loaded = Object.keys(require.cache);
    console.log(JSON.stringify({
        mode, n: nArg ? Number(nArg) : undefined,
        ms: Math.round(performance.now()),
        registered,
        peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
        loadedAws: loaded.some((f) => f.includes(`${path.sep}@pulumi${path.sep}aws${path.sep}`)),
        loadedEks: loaded.some((f) => f.includes(`${path.sep}@pulumi${path.sep}eks${path.sep}`)),
    }));
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
