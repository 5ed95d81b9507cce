/**
 * A copy of the project for a stack to run in, as the end-to-end suites and `npm run test:aws` make it, so that
 * config edits and state never touch the checkout. No side effect on import (the harness has some).
 */
import * as fs from "fs";
import * as path from "path";

const repo = path.resolve(__dirname, "..", "..");

/** What a stack runs from, besides its stage's Pulumi.<stage>.yaml; bin/ too when built (main.js checks it). */
export const PROJECT_FILES = ["Pulumi.yaml", "main.js", "index.ts", "package.json", "package-lock.json", "tsconfig.json",
    "tsconfig.build.json", "components", "stacks", "scripts", "policy", "bin"];

/** Copies PROJECT_FILES and `stageFile` into `dir`; node_modules is linked. */
export function copyProjectTo(dir: string, stageFile: string): void {
    for (const entry of [...PROJECT_FILES, stageFile]) {
        if (entry !== "bin" || fs.existsSync(path.join(repo, entry))) {
            fs.cpSync(path.join(repo, entry), path.join(dir, entry), { recursive: true });
        }
    }
    fs.symlinkSync(path.join(repo, "node_modules"), path.join(dir, "node_modules"));
}
