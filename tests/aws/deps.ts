/**
 * Every effect of npm run test:aws, as its parts take them: commands, the prompt, the environment, files, the
 * clock, signals, the project copy and the steps' process. tests/aws/main.ts gives the real ones; the unit suite
 * (tests/aws/*.test.ts, with tests/aws/fakes.ts) gives fakes that record each call.
 */
import { StateEnv } from "./stateBackend";

export type Env = Record<string, string | undefined>;

export interface Command {
    cmd: string;
    args: string[];
    cwd?: string;
    env?: Env;
    /** Show the output as it comes (pulumi destroy); it is captured either way. */
    echo?: boolean;
    timeoutMs?: number;
}

export interface CommandResult {
    /** Exit status; 127 when the command could not start, 128 + n when signal n ended it. */
    code: number;
    stdout: string;
    stderr: string;
}

export interface StepsOutcome {
    /** Exit status of the steps' process (128 + n for signal n). */
    code: number;
    passed: number;
    failed: number;
    /** Steps not started: after a failed step (each builds on the previous one) or a signal. */
    notRun: number;
    total: number;
    /** The load balancer's hostname, once step 1 saw it (the cleanup checks that it is gone). */
    loadBalancer?: string;
}

export interface StepsHandle {
    done: Promise<StepsOutcome>;
    /** Stop: pulumi gets SIGINT (it cancels gracefully, finishing the operations in flight); no further step starts. */
    interrupt(): void;
    /** SIGKILL to the steps and every process they started (only when a stopped step does not end in time). */
    kill(): void;
}

export interface StepsContext {
    stack: string;
    dir: string;
    region: string;
    env: Env;
    dnsTimeoutSeconds: number;
}

export interface Deps {
    env: Env;
    repo: string;
    home: string;
    print: (line: string) => void;
    exec: (c: Command) => Promise<CommandResult>;
    /** The path of a command on PATH, or undefined. */
    which: (cmd: string) => string | undefined;
    /** A file's text, or undefined when it cannot be read. */
    readFile: (file: string) => string | undefined;
    isTTY: boolean;
    ask: (question: string) => Promise<string>;
    now: () => number;
    sleep: (ms: number) => Promise<void>;
    /** 4 hex digits. */
    random: () => string;
    /** Calls `handler` on SIGINT, SIGTERM and SIGHUP; returns the function that stops that. */
    onSignal: (handler: (signal: string) => void) => () => void;
    /**
     * The project copy the stack lives in, `.test-aws/<stack>/`, with the state's directory and passphrase file
     * when `state` names them. "new": a fresh copy with Pulumi.<stack>.yaml = Pulumi.dev.yaml; "cleanup": the copy a
     * run left, or a fresh one without stack config (pulumi takes the passphrase salt from the state).
     */
    prepareWork: (stack: string, state: StateEnv, mode: "new" | "cleanup") => Promise<string>;
    removeWork: (dir: string) => void;
    startSteps: (c: StepsContext) => StepsHandle;
    stepStopTimeoutMs?: number;
    destroyRetryWaitMs?: number;
}


/** The last non-empty line of a command's output (its error, mostly). */
export const lastLine = (text: string) => text.trim().split("\n").filter(Boolean).pop() ?? "";
