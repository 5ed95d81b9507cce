// Types of scripts/build.js (plain JavaScript, so that main.js can run it before anything is compiled).
export interface BuildOptions {
    /** The project folder (Pulumi.yaml, tsconfig.build.json). */
    root: string;
    /** Default tsconfig.build.json. */
    tsconfig?: string;
    /** Default bin (as in the tsconfig). */
    outDir?: string;
    /** Progress lines (a build runs tsc). */
    log?: (line: string) => void;
}
export class BuildError extends Error {}
export function isUpToDate(options: BuildOptions): boolean;
/** Compiles the projects whose stamps do not match (all of them with `force`). */
export function build(options: BuildOptions & { force?: boolean }): void;
/** Builds when not up to date; returns the compiled entry point (default bin/index.js). */
export function ensureBuilt(options: BuildOptions & { entry?: string }): string;
