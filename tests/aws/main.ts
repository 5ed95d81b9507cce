/**
 * npm run test:aws: the real dependencies (tests/aws/deps.ts: processes, terminal, files, signals) of the run
 * (tests/aws/runner.ts), and the process that runs the tutorial's steps (tests/aws/steps.ts). Run through
 * tests/aws/run.sh.
 */
import { spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as readline from "readline";
import { descendants } from "../../harness/processes";
import { copyProjectTo } from "../../harness/projectCopy";
import { Command, CommandResult, Deps, Env, StepsContext, StepsHandle, StepsOutcome } from "./deps";
import { main } from "./runner";
import { StateEnv } from "./stateBackend";

const repo = path.resolve(__dirname, "..", "..");

function print(line: string): void {
    try {
        process.stdout.write(`${line}\n`);
    } catch {
        /* the terminal is gone (SIGHUP): the cleanup goes on regardless */
    }
}
// A closed terminal or pipe (SIGHUP, `| tee` ended by Ctrl-C) must not end the runner before its cleanup.
process.stdout.on("error", () => undefined);
process.stderr.on("error", () => undefined);

/** Indents a command's output under the runner's lines, as it comes. */
function echoer(stream: NodeJS.WriteStream): (chunk: Buffer) => void {
    let atLineStart = true;
    return (chunk) => {
        const text = chunk.toString();
        let out = "";
        for (const ch of text) {
            out += (atLineStart ? "    " : "") + ch;
            atLineStart = ch === "\n";
        }
        try {
            stream.write(out);
        } catch {
            /* as print() */
        }
    };
}

const exitCode = (code: number | null, signal: NodeJS.Signals | null) => code ?? 128 + (signal ? os.constants.signals[signal] ?? 0 : 0);

/**
 * Runs a command in a process group of its own, so that a Ctrl-C in the terminal never reaches it (a cleanup's
 * `pulumi destroy` must not be cancelled by the keystroke that started the cleanup).
 */
function exec(c: Command): Promise<CommandResult> {
    return new Promise((resolve) => {
        let stdout = "";
        let stderr = "";
        const child = spawn(c.cmd, c.args, { cwd: c.cwd, env: (c.env ?? process.env) as NodeJS.ProcessEnv, detached: true, stdio: ["ignore", "pipe", "pipe"] });
        const timer = c.timeoutMs ? setTimeout(() => signalPid(-child.pid!, "SIGTERM"), c.timeoutMs) : undefined;
        const showOut = echoer(process.stdout);
        const showErr = echoer(process.stderr);
        child.stdout!.on("data", (b: Buffer) => {
            stdout += b;
            if (c.echo) {
                showOut(b);
            }
        });
        child.stderr!.on("data", (b: Buffer) => {
            stderr += b;
            if (c.echo) {
                showErr(b);
            }
        });
        child.on("error", (e) => {
            clearTimeout(timer);
            resolve({ code: 127, stdout, stderr: `${stderr}${e.message}` });
        });
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            resolve({ code: exitCode(code, signal), stdout, stderr });
        });
    });
}

function which(cmd: string): string | undefined {
    for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
        const candidate = path.join(dir || ".", cmd);
        try {
            fs.accessSync(candidate, fs.constants.X_OK);
            if (fs.statSync(candidate).isFile()) {
                return candidate;
            }
        } catch {
            /* not here */
        }
    }
    return undefined;
}

function readFile(file: string): string | undefined {
    try {
        return fs.readFileSync(file, "utf8");
    } catch {
        return undefined;
    }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
    try {
        process.kill(pid, signal);
    } catch {
        /* already gone */
    }
}

function startSteps(c: StepsContext): StepsHandle {
    // Its own process group: a Ctrl-C reaches this runner only, which decides what the steps get.
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "steps.ts")], {
        cwd: repo,
        env: { ...process.env, ...c.env, EKS_NGINX_E2E_WORK: c.dir, TEST_AWS_STACK: c.stack, TEST_AWS_DNS_TIMEOUT: String(c.dnsTimeoutSeconds) } as NodeJS.ProcessEnv,
        detached: true,
        stdio: ["ignore", "inherit", "inherit"],
    });
    const done = new Promise<StepsOutcome>((resolve, reject) => {
        child.on("error", reject);
        child.on("close", (code, signal) => {
            let rec: Partial<StepsOutcome> = {};
            try {
                rec = JSON.parse(fs.readFileSync(path.join(c.dir, "steps.json"), "utf8"));
            } catch {
                /* killed before its first record */
            }
            const passed = rec.passed ?? 0;
            const failed = rec.failed ?? 0;
            const total = rec.total ?? 0;
            resolve({ code: exitCode(code, signal), passed, failed, notRun: Math.max(0, total - passed - failed), total, loadBalancer: rec.loadBalancer });
        });
    });
    return {
        done,
        interrupt: () => {
            // The steps' process starts no further step; what it runs now gets SIGINT as from a terminal: the pulumi CLI
            // (also under a wrapper script) cancels gracefully, kubectl and the traffic stream end. Not pulumi's plugins
            // (pulumi-resource-*, pulumi-language-*): the CLI stops them once what they have in flight is done.
            signalPid(child.pid!, "SIGINT");
            descendants(child.pid!).filter((p) => p.depth === 1 || p.comm === "pulumi").forEach((p) => signalPid(p.pid, "SIGINT"));
        },
        kill: () => {
            const all = descendants(child.pid!);
            signalPid(-child.pid!, "SIGKILL");
            signalPid(child.pid!, "SIGKILL");
            all.forEach((p) => signalPid(p.pid, "SIGKILL"));
        },
    };
}

async function prepareWork(stack: string, state: StateEnv, mode: "new" | "cleanup"): Promise<string> {
    if (state.stateDir) {
        fs.mkdirSync(state.stateDir, { recursive: true });
    }
    if (state.passphraseFile && !fs.existsSync(state.passphraseFile)) {
        // As scripts/pulumi-env.sh makes it, so that npm run local and a later cleanup read the same one.
        fs.mkdirSync(path.dirname(state.passphraseFile), { recursive: true });
        fs.writeFileSync(state.passphraseFile, crypto.randomBytes(24).toString("base64"), { mode: 0o600 });
    }
    const dir = path.join(repo, ".test-aws", stack);
    if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) {
        if (mode === "cleanup") {
            return dir;
        }
        throw new Error(`${dir} exists: a run of stack ${stack} left it (npm run test:aws -- --cleanup ${stack})`);
    }
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    copyProjectTo(dir, "Pulumi.dev.yaml");
    if (mode === "new") {
        fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`),
            `# npm run test:aws: stack ${stack}, made from Pulumi.dev.yaml (below); the runner sets aws:region and tags.\n` +
            fs.readFileSync(path.join(repo, "Pulumi.dev.yaml"), "utf8"));
    }
    return dir;
}

function ask(question: string): Promise<string> {
    return new Promise((resolve) => {
        const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
        let answered = false;
        const answer = (a: string) => {
            if (!answered) {
                answered = true;
                rl.close();
                resolve(a);
            }
        };
        // Ctrl-C or Ctrl-D at the prompt: no.
        rl.on("SIGINT", () => {
            print("");
            answer("");
        });
        rl.on("close", () => answer(""));
        rl.question(question, answer);
    });
}

function onSignal(handler: (signal: string) => void): () => void {
    const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
    // One Ctrl-C under `npm run` arrives twice: from the terminal, and forwarded by npm.
    let last = { signal: "", at: 0 };
    const listener = (signal: NodeJS.Signals) => {
        const now = Date.now();
        if (signal === last.signal && now - last.at < 2000) {
            return;
        }
        last = { signal, at: now };
        handler(signal);
    };
    signals.forEach((s) => process.on(s, listener));
    return () => signals.forEach((s) => process.off(s, listener));
}

const deps: Deps = {
    env: process.env as Env,
    repo,
    home: os.homedir(),
    print,
    exec,
    which,
    readFile,
    isTTY: process.stdin.isTTY === true,
    ask,
    now: Date.now,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    random: () => crypto.randomBytes(2).toString("hex"),
    onSignal,
    prepareWork,
    removeWork: (dir) => {
        fs.rmSync(dir, { recursive: true, force: true });
        try {
            fs.rmdirSync(path.dirname(dir));
        } catch {
            /* another run's copy is there */
        }
    },
    startSteps,
};

main(process.argv.slice(2), deps).then(
    (code) => process.exit(code),
    (e) => {
        print(`test:aws: ${(e as Error).stack ?? e}`);
        process.exit(1);
    },
);
