/**
 * A copy of the project for a stack to run in, as the end-to-end suites, the bench and `npm run test:aws` make it,
 * so that config edits and state never touch the checkout. Nothing happens on import: the copy is made by a call.
 */
import * as fs from "fs";
import * as path from "path";
import { ensureBuilt } from "../scripts/build";
import { Workspace } from "./workspace";

const repo = path.resolve(__dirname, "..");

/** What a stack runs from, besides its stage's Pulumi.<stage>.yaml; bin/ too when built (main.js checks it). */
export const PROJECT_FILES = ["Pulumi.yaml", "main.js", "index.ts", "package.json", "package-lock.json", "tsconfig.json",
    "tsconfig.build.json", "tsconfig.eks.json", "components", "stacks", "scripts", "policy", "bin"];

/** Copies PROJECT_FILES and `stageFile` into `dir`; node_modules is linked. */
export function copyProjectTo(dir: string, stageFile: string): void {
    for (const entry of [...PROJECT_FILES, stageFile]) {
        if (entry !== "bin" || fs.existsSync(path.join(repo, entry))) {
            fs.cpSync(path.join(repo, entry), path.join(dir, entry), { recursive: true });
        }
    }
    fs.symlinkSync(path.join(repo, "node_modules"), path.join(dir, "node_modules"));
}

/**
 * The workspace's copy for the `local` stack (Pulumi.local.yaml), its state folder, and the program built: a
 * copied bin/ counts only if it matches the sources (scripts/build.js), so that no step's timing includes a tsc
 * run (main.js would build on the first pulumi run otherwise).
 */
export function copyProject(ws: Workspace, log: (line: string) => void): void {
    copyProjectTo(ws.dir, "Pulumi.local.yaml");
    fs.mkdirSync(ws.stateDir);
    ensureBuilt({ root: ws.dir, log: (line) => log(`[build] ${line}`) });
}
