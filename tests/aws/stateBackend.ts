/** Where npm run test:aws keeps the state and how it encrypts secrets, as scripts/pulumi-env.sh sets them for npm run local. */
import * as path from "path";
import { fileBackendUrl } from "../../harness/workspace";
import type { Env } from "./deps";

export interface StateEnv {
    backend: string;
    /** PULUMI_BACKEND_URL and the passphrase variable, for every pulumi command. */
    env: Env;
    /** The local backend's directory, made after confirmation. */
    stateDir?: string;
    /** A random passphrase is written here (mode 600) after confirmation unless the file exists. */
    passphraseFile?: string;
}

export function stateEnv(env: Env, repo: string): StateEnv {
    const local = path.join(repo, ".pulumi-state");
    const backend = env.PULUMI_BACKEND_URL || fileBackendUrl(local);
    const s: StateEnv = { backend, env: { PULUMI_BACKEND_URL: backend }, stateDir: env.PULUMI_BACKEND_URL ? undefined : local };
    if (env.PULUMI_CONFIG_PASSPHRASE) {
        s.env.PULUMI_CONFIG_PASSPHRASE = env.PULUMI_CONFIG_PASSPHRASE;
    } else if (env.PULUMI_CONFIG_PASSPHRASE_FILE) {
        s.env.PULUMI_CONFIG_PASSPHRASE_FILE = env.PULUMI_CONFIG_PASSPHRASE_FILE;
    } else {
        s.passphraseFile = path.join(local, "passphrase");
        s.env.PULUMI_CONFIG_PASSPHRASE_FILE = s.passphraseFile;
    }
    return s;
}

