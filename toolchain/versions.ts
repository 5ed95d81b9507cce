/** The pinned versions and image names of toolchain/versions.sh, for the tests (one source of truth). */
import { execFileSync } from "child_process";
import * as path from "path";

const file = path.join(__dirname, "versions.sh");
let values: Record<string, string> | undefined;

/** A variable of toolchain/versions.sh as bash evaluates it, e.g. `NGINX_IMAGE`. */
export function toolchainValue(name: string): string {
    values ??= Object.fromEntries(execFileSync("bash", ["-c", `set -a; source "${file}"; env -0`], { encoding: "utf8" })
        .split("\0").filter(Boolean).map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]));
    const value = values[name];
    if (value === undefined) {
        throw new Error(`toolchain/versions.sh does not set ${name}`);
    }
    return value;
}
