/**
 * The folder a suite, the bench or `npm run test:aws`'s steps work in, and the environment of the commands they
 * run there: the project copy, the embedded cluster's folder and kubeconfig, the local state backend with its
 * passphrase, and a scratch folder for the commands' temporary files. Created by createWorkspace(), never on
 * import; removed with removeWorkspace().
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** The passphrase of the workspace's state: a throwaway one, the state goes with the folder. */
export const PASSPHRASE = "e2e-only-passphrase";

/**
 * The local file backend's URL for a state folder, as scripts/pulumi-env.sh makes it for npm run local: with
 * `metadata=skip`, no `.attrs` sidecars, which a killed pulumi can leave empty (that file says why).
 */
export const fileBackendUrl = (stateDir: string) => `file://${stateDir}?metadata=skip`;

export interface Workspace {
    /** The project copy: where pulumi runs. */
    dir: string;
    /** The embedded cluster's folder (CLUSTER_DIR): its state, logs and recorded PIDs. */
    clusterDir: string;
    /** The kubeconfig kubectl and the program read. */
    kubeconfig: string;
    /** The local state backend's folder (PULUMI_BACKEND_URL file://...?metadata=skip). */
    stateDir: string;
    /**
     * Temporary files of the commands, removed with the copy: the Kubernetes provider writes a copy of its
     * kubeconfig there on every run and never removes it, kubectl its cache.
     */
    scratch: string;
    /** The environment of every command run in the workspace. */
    env: NodeJS.ProcessEnv;
}

/**
 * Makes the workspace in `dir`: by default the folder EKS_NGINX_E2E_WORK names (npm run test:aws's project copy,
 * which outlives this process), else a new temporary folder. Its scratch folder is made now; the rest by the
 * commands that fill them (copyProject, cluster start).
 */
export function createWorkspace(dir = process.env.EKS_NGINX_E2E_WORK || fs.mkdtempSync(path.join(os.tmpdir(), "eks-nginx-e2e-"))): Workspace {
    const clusterDir = path.join(dir, ".cluster");
    const kubeconfig = path.join(clusterDir, "kubeconfig");
    const stateDir = path.join(dir, ".state");
    const scratch = path.join(dir, "tmp");
    fs.mkdirSync(scratch, { recursive: true, mode: 0o700 });
    // The passphrase in a file, and the CLI's key cache beside it, as scripts/pulumi-env.sh makes them for npm run local.
    const secrets = path.join(dir, ".secrets");
    fs.mkdirSync(secrets, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(secrets, "passphrase"), PASSPHRASE, { mode: 0o600 });
    const env: NodeJS.ProcessEnv = {
        ...process.env,
        CLUSTER_DIR: clusterDir,
        KUBECONFIG: kubeconfig,
        PULUMI_BACKEND_URL: fileBackendUrl(stateDir),
        PULUMI_CONFIG_PASSPHRASE_FILE: path.join(secrets, "passphrase"),
        EKS_NGINX_PASSPHRASE_KEY_CACHE: path.join(secrets, "passphrase-keys"),
        TMPDIR: scratch,
        KUBECACHEDIR: path.join(scratch, "kube-cache"),
    };
    delete env.PULUMI_CONFIG_PASSPHRASE;
    return { dir, clusterDir, kubeconfig, stateDir, scratch, env };
}

/** Removes the workspace's folder, with the project copy, the cluster's folder, the state and the scratch files. */
export function removeWorkspace(ws: Workspace): void {
    fs.rmSync(ws.dir, { recursive: true, force: true });
}
