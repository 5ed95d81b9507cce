/**
 * How the components report arguments they cannot work with: each component has a named check function that
 * returns every problem at once (so the stack settings can report them under their config keys, before anything
 * is registered), and throws them together when it is constructed with them.
 */

/** One argument a component cannot work with. */
export interface ArgProblem {
    /** Path of the argument in the component's args, e.g. `access.0.principalArn`; "" for the args as a whole. */
    arg: string;
    /** The value at that path (for a rule between arguments, the arguments it relates). */
    value: unknown;
    /** What is accepted, as it follows "expected" in a message. */
    expected: string;
}

/** Thrown by a component constructed with arguments its check refuses. */
export class ComponentArgsError extends Error {
    constructor(readonly component: string, readonly resourceName: string, readonly problems: ArgProblem[]) {
        super(`${component} ${resourceName}: invalid arguments:\n` +
            problems.map((p) => `  - ${p.arg || "(arguments)"} = ${JSON.stringify(p.value)}: expected ${p.expected}`).join("\n"));
        this.name = "ComponentArgsError";
    }
}

/** Throws the problems, if any, as one error. */
export function refuseArgs(component: string, name: string, problems: ArgProblem[]): void {
    if (problems.length > 0) {
        throw new ComponentArgsError(component, name, problems);
    }
}
