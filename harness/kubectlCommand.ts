/** `kubectl` against the kubeconfig of an environment (a workspace's, or npm run test:aws's stack's). */
import { execFileSync } from "child_process";

export interface KubectlCommand {
    /** `kubectl <args> -o json`, parsed. */
    kubectl(...args: string[]): any;
    /** kubectl's plain output (logs, ...). */
    kubectlText(...args: string[]): string;
}

/** kubectl with `env` and its KUBECONFIG; every request gives up after 10 s. */
export function kubectlCommand(env: NodeJS.ProcessEnv): KubectlCommand {
    const base = () => ["--kubeconfig", env.KUBECONFIG!, "--request-timeout=10s"];
    return {
        kubectl: (...args) => JSON.parse(execFileSync("kubectl", [...base(), ...args, "-o", "json"], { env, encoding: "utf8" })),
        kubectlText: (...args) => execFileSync("kubectl", [...base(), ...args], { env, encoding: "utf8", maxBuffer: 64 << 20 }),
    };
}
