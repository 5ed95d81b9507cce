// Types of scripts/deps.js (plain JavaScript, so that scripts/lib.sh can run it before anything is installed).
/** Why node_modules under `root` is not what its package-lock.json pins, or null when it is. */
export function staleReason(root: string): string | null;
