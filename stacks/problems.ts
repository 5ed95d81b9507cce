/**
 * How bad stack config is reported: every problem at once, each as `key = value: expected what is accepted`,
 * in one error thrown before the program registers anything.
 */
import type { z } from "zod";
import type { ArgProblem } from "../components/argProblems";

/** One bad key: where, what it was, what is accepted. */
export interface ConfigProblem {
    /** The config key, with the path inside structured settings: `cluster.access.0.principalArn`. */
    key: string;
    value: unknown;
    expected: string;
}

export class StackConfigError extends Error {
    constructor(readonly problems: ConfigProblem[]) {
        super(
            "Invalid stack configuration; nothing was deployed:\n" +
            problems.map((p) => `  - ${p.key} = ${show(p.value)}: expected ${p.expected}`).join("\n"),
        );
        this.name = "StackConfigError";
    }
}

/** Longest value shown whole in a message; longer ones are cut, with their length. */
const SHOWN = 200;

function show(value: unknown): string {
    if (value === undefined) {
        return "(unset)";
    }
    const text = JSON.stringify(value);
    return text.length <= SHOWN ? text : `${text.slice(0, SHOWN)}… (${text.length} characters)`;
}

/** The value at `path` inside `root`, or undefined. */
export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
    let v: unknown = root;
    for (const k of path) {
        if (v === null || typeof v !== "object") {
            return undefined;
        }
        v = (v as Record<PropertyKey, unknown>)[k];
    }
    return v;
}

/** zod's issues about the value of `key`, as problems; a typo names the unknown setting itself. */
export function problemsOf(key: string, value: unknown, issues: readonly z.core.$ZodIssue[]): ConfigProblem[] {
    return issues.flatMap((issue) => {
        const paths = issue.code === "unrecognized_keys" ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
        return paths.map((p) => ({ key: [key, ...p.map(String)].join("."), value: p.length ? valueAt(value, p) : value, expected: issue.message }));
    });
}

/**
 * A component's problems with the arguments the settings gave it, under the config keys they came from:
 * `keyOf` maps an argument's path to its key ("" for the arguments as a whole).
 */
export function argProblems(problems: ArgProblem[], keyOf: (arg: string) => string): ConfigProblem[] {
    return problems.map((p) => ({ key: keyOf(p.arg), value: p.value, expected: p.expected }));
}
