/**
 * npm run bench [-- --quick] [--no-cluster]: what the program costs its users.
 *  1. Program cost under mocks (no cluster): start-up to all resources registered for dev (EKS) and local,
 *     the unit suite transpile-only vs type-checked, and growth with N copies of the app component.
 *  2. The tutorial's operations on the embedded cluster's three real nodes (real pods), Pulumi against kubectl, and
 *     where a Pulumi run's time goes (needs npm run toolchain, and root for the real nodes).
 * Prints Markdown tables and puts them into bench/results.md, the performance doc, between its bench markers
 * (the analysis around them is written by hand and kept); writes bench/results.png (plot of part 2).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { median, timed } from "./measure";
import type { NoopPreview, Operation, OperationSamples } from "./operations";

const repo = path.resolve(__dirname, "..");
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const withCluster = !args.includes("--no-cluster");
const REPS = quick ? 3 : 5;
/** The aim for every step: pulumi − kubectl, result observed, at most this many seconds (bench/results.md). */
const AIM = 1.0;

function node(script: string, scriptArgs: string[]): Record<string, any> {
    const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", script, ...scriptArgs], { cwd: repo, encoding: "utf8" });
    if (r.status !== 0) {
        throw new Error(`${script} ${scriptArgs.join(" ")}: ${r.stderr}`);
    }
    return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

function wall(cmd: string, cmdArgs: string[]): number {
    return timed(() => {
        const r = spawnSync(cmd, cmdArgs, { cwd: repo, encoding: "utf8" });
        if (r.status !== 0) {
            throw new Error(`${cmd} ${cmdArgs.join(" ")}: ${r.stdout}${r.stderr}`);
        }
    });
}

const lines: string[] = [];
function out(line = ""): void {
    console.log(line);
    lines.push(line);
}

async function main(): Promise<void> {
    out(`Machine: ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node.js ${process.version}; ${new Date().toISOString().slice(0, 10)}; medians of ${REPS}.`);
    out();
    out("### 1. Program cost (Pulumi mocks, no cluster)");
    out();
    out("| measurement | median | peak RSS | registrations | loads @pulumi/aws / eks |");
    out("|---|---|---|---|---|");
    for (const stage of ["dev", "local"]) {
        const runs = Array.from({ length: REPS }, () => node("bench/programRun.ts", [stage]));
        out(`| start-up to all registered, ${stage} stage${stage === "dev" ? " (EKS)" : ""} | ${(median(runs.map((r) => r.ms)) / 1000).toFixed(2)} s | ${median(runs.map((r) => r.peakRssMiB))} MiB | ${runs[0].registered} | ${runs[0].loadedAws ? "yes" : "no"} / ${runs[0].loadedEks ? "yes" : "no"} |`);
    }
    for (const n of [1, 10, 50]) {
        const runs = Array.from({ length: REPS }, () => node("bench/programRun.ts", ["copies", String(n)]));
        out(`| ${n} cop${n === 1 ? "y" : "ies"} of the app component (local) | ${(median(runs.map((r) => r.ms)) / 1000).toFixed(2)} s | ${median(runs.map((r) => r.peakRssMiB))} MiB | ${runs[0].registered} | no / no |`);
    }
    const mocha = path.join(repo, "node_modules", ".bin", "mocha");
    const suiteReps = quick ? 1 : 3;
    const transpileOnly = median(Array.from({ length: suiteReps }, () => wall(mocha, [])));
    const typeChecked = median(Array.from({ length: suiteReps }, () =>
        wall(mocha, ["--no-config", "--require", "ts-node/register", "--extension", "ts", "--timeout", "60000", "tests/**/*.test.ts"])));
    out(`| unit suite, transpile-only (npm test) | ${transpileOnly.toFixed(2)} s | | | |`);
    out(`| unit suite, type-checked (ts-node/register) | ${typeChecked.toFixed(2)} s | | | |`);

    if (withCluster) {
        if (!fs.existsSync(path.join(repo, ".toolchain", "bin", "pulumi"))) {
            throw new Error("part 2 needs the toolchain: npm run toolchain (or pass --no-cluster)");
        }
        const { measureOperations, OPERATIONS } = await import("./operations");
        const { writePlot } = await import("./plot");
        const { samples, breakdown } = await measureOperations(REPS);
        out();
        out("### 2. Operations on the embedded cluster's three real nodes (real pods; same cluster and objects, alternating A/B)");
        out();
        out("| operation | pulumi, returned | kubectl, returned | pulumi − kubectl | pulumi, result observed | kubectl, result observed | pulumi − kubectl |");
        out("|---|---|---|---|---|---|---|");
        const bars = OPERATIONS.map((op) => {
            const [pr, kr, po, ko] = [samples.pulumi.returned, samples.kubectl.returned, samples.pulumi.observed, samples.kubectl.observed].map((x) => median(x[op]));
            out(`| ${op} | ${pr.toFixed(2)} s | ${kr.toFixed(2)} s | ${(pr - kr).toFixed(2)} s | ${po.toFixed(2)} s | ${ko.toFixed(2)} s | **${(po - ko).toFixed(2)} s** |`);
            return { label: op, pulumi: po, kubectl: ko };
        });
        out();
        out("Returned: until the command exits. pulumi: `pulumi up --yes --skip-preview` after `pulumi config set …`, `pulumi preview --expect-no-changes`, `pulumi destroy --yes --skip-preview`;");
        out("kubectl: `kubectl apply -f bench/manifests/…` + `kubectl rollout status` (create also waits for the load balancer address), `kubectl diff`, `kubectl delete --wait`.");
        out("Result observed: from the command's start until what the step asked for is seen over HTTP and the API, the same condition for both, checked every 50 ms from the moment");
        out("`pulumi` (or `kubectl apply`/`delete`/`diff`) returned: create, the url serves nginx's page; scale, three Ready pods behind the Service; port, :8080 serves and :80 refuses;");
        out("image, no pod of the old image is left and 5 answers in a row are the new page; destroy, the address refuses and no object or pod of the app is left (no-op: returned).");
        out("Both wait for the same real rollouts: pods started by containerd, Ready when their readiness probe answers, old ones drained for 5 s before they stop.");
        out();
        // Each step in two: the tool's path to its first write, and the waits after it (bench/apiChanges.ts).
        const split = (tool: "pulumi" | "kubectl", op: Operation) => {
            const t = samples[tool];
            return { write: median(t.changed[op]), after: median(t.observed[op].map((o, i) => o - t.changed[op][i])) };
        };
        const changing = OPERATIONS.filter((op) => op !== "no-op");
        out("Result observed, in two parts: from the command's start until its first write reached the API server (the app's Deployment or Service created, " +
            "changed, marked for deletion or deleted, as a watch saw it), then from that write until the result was observed (medians of each part):");
        out();
        out("| operation | pulumi, to its first write | kubectl, to its first write | pulumi − kubectl | pulumi, first write to result | kubectl, first write to result | pulumi − kubectl |");
        out("|---|---|---|---|---|---|---|");
        for (const op of changing) {
            const [p, k] = [split("pulumi", op), split("kubectl", op)];
            out(`| ${op} | ${p.write.toFixed(2)} s | ${k.write.toFixed(2)} s | ${(p.write - k.write).toFixed(2)} s | ${p.after.toFixed(2)} s | ${k.after.toFixed(2)} s | ${(p.after - k.after).toFixed(2)} s |`);
        }
        out();
        // The scale's result as the API server had it: when each tool's pods were behind the Service, and what came after.
        const scale = "scale 1→3";
        const perSample = (tool: "pulumi" | "kubectl", f: (ready: number, i: number, t: OperationSamples["pulumi"]) => number) =>
            median(samples[tool].scaledReady.map((ready, i) => f(ready, i, samples[tool])));
        const [pReady, kReady] = (["pulumi", "kubectl"] as const).map((tool) => perSample(tool, (ready, i, t) => ready - t.changed[scale][i]));
        out(`Scale 1→3, by a watch of the Service's EndpointSlices (medians): three Ready pods were behind the Service ${pReady.toFixed(2)} s after ` +
            `pulumi's first write and ${kReady.toFixed(2)} s after kubectl's (the same rollout of two new pods); \`pulumi up\` returned ` +
            `${perSample("pulumi", (ready, i, t) => t.returned[scale][i] - ready).toFixed(2)} s after that (the rest of its run: the readiness check's last reads, ` +
            `the program's end, the engine's last state writes, the CLI's exit), and the bench's poll saw kubectl's ` +
            `${perSample("kubectl", (ready, i, t) => t.observed[scale][i] - ready).toFixed(2)} s after it.`);
        out();
        out("No-op preview (`pulumi preview --expect-no-changes`, the stack above deployed): time and peak memory");
        out();
        out("| run | median | peak memory, process tree | largest process |");
        out("|---|---|---|---|");
        const row = (label: string, r: NoopPreview) => out(`| ${label} | ${r.seconds.toFixed(2)} s | ${r.treeMiB} MiB | ${r.largestMiB} MiB |`);
        row("plain `pulumi preview`, as README gives it (no extra environment)", breakdown.noopPlain);
        row("README's wrapper for the embedded cluster: `npm run local -- preview --expect-no-changes` (npm, scripts/local.sh, the same preview)", breakdown.noopReadme);
        row("tuned: `PULUMI_NODEJS_TRANSPILE_ONLY=true pulumi preview`", breakdown.noopTuned);
        row("plain, first run after a source changed (main.js runs tsc on tsconfig.build.json, the program but the EKS component)", breakdown.afterSourceChange);
        row("plain, first run after an edit of the EKS component (tsc on tsconfig.eks.json)", breakdown.afterEksChange);
        row("before: the first run after a source changed, the whole program one tsc project", breakdown.afterSourceChangeOneProject);
        row("before: `main: index.ts` through ts-node, type-checked on every run", breakdown.noopTsNodeTypeChecked);
        out();
        out("Peak memory: sum of the resident memory of the CLI, language host, Node.js, provider (and tsc), sampled every 10 ms; largest process: the biggest one of them alone.");
        out();
        out("Where a Pulumi run's time goes (medians):");
        out();
        out("| part | seconds |");
        out("|---|---|");
        out(`| CLI start (\`pulumi version\`) | ${breakdown.cliStart.toFixed(2)} |`);
        out(`| Kubernetes provider start (until it serves) | ${breakdown.providerStart.toFixed(2)} |`);
        out(`| empty JavaScript program preview, this project's start-up (CLI, engine, secrets provider, language host, Node.js, the SDK's run path) | ${breakdown.emptyProgramPreview.toFixed(2)} |`);
        out(`| a program of only a Kubernetes provider bound to the cluster, preview (the provider started and configured: the server's version, its API schema) | ${breakdown.providerProgramPreview.toFixed(2)} |`);
        out(`| a program of only that provider and one Service, \`pulumi up\` after the Service's port changed: until its write reached the API server | ${breakdown.firstWrite.pulumi.toFixed(2)} |`);
        out(`| → \`kubectl apply\` of the same Service (another name), until its write reached the API server | ${breakdown.firstWrite.kubectl.toFixed(2)} |`);
        out(`| no-op preview of this program (plain) | ${breakdown.noopPlain.seconds.toFixed(2)} |`);
        // The operations' no-op (timed alone, as the provider's program is; the table above samples memory as it runs).
        const pulumiNoop = median(samples.pulumi.returned["no-op"]);
        const own = pulumiNoop - breakdown.providerProgramPreview;
        out(`| → this program's own part: its modules, build check, settings, components and their API reads (the operations' no-op, ${pulumiNoop.toFixed(2)} s, − the provider's program) | ${own.toFixed(2)} |`);
        out(`| → what type-checking on every run cost (before − plain) | ${(breakdown.noopTsNodeTypeChecked.seconds - breakdown.noopPlain.seconds).toFixed(2)} |`);
        const r = samples.pulumi.returned;
        const settle = (median(r["create"]) + median(r["port 80→8080"])) / 2 - median(r["scale 1→3"]);
        out(`| → create and port change against scale, returned (what the Service's await adds) | ${settle.toFixed(2)} |`);
        out();
        // The aim (pulumi − kubectl ≤ 1.0 s, result observed), step by step, against the least any Pulumi program
        // that deploys through the Kubernetes provider pays over one kubectl command on this machine.
        const kubectlNoop = median(samples.kubectl.returned["no-op"]);
        const floor = breakdown.providerProgramPreview - kubectlNoop;
        const writeFloor = breakdown.firstWrite.pulumi - breakdown.firstWrite.kubectl;
        out(`Against the aim (pulumi − kubectl ≤ ${AIM.toFixed(1)} s, result observed), in this run. The floor: the preview of a program of only a ` +
            `Kubernetes provider bound to the cluster (${breakdown.providerProgramPreview.toFixed(2)} s) − kubectl's no-op (${kubectlNoop.toFixed(2)} s) = ` +
            `**${floor.toFixed(2)} s**, what a Pulumi program through the Kubernetes provider costs over one kubectl command before it has any code or ` +
            "object of its own (the CLI, engine, secrets provider, language host, Node.js with this project's start-up, the SDK's run path, the provider's " +
            "start and configuration). " +
            `Before either tool waits for anything, the least a Pulumi program's first write comes after kubectl's: ` +
            `${breakdown.firstWrite.pulumi.toFixed(2)} s − ${breakdown.firstWrite.kubectl.toFixed(2)} s = **${writeFloor.toFixed(2)} s** ` +
            "(the program of only a provider and one Service, against kubectl apply of that Service); a step whose waits after the write are the same " +
            "for both tools cannot be closer than that.");
        out();
        for (const { label, pulumi, kubectl } of bars) {
            const gap = pulumi - kubectl;
            // What is left once the floor and this program's own part are taken off (none for the no-op: it is those two).
            const step = gap - floor - own;
            const stepPart = Math.abs(step) < 0.005 ? ""
                : step > 0 ? `, and ${step.toFixed(2)} s that the step itself costs Pulumi beyond kubectl` : `, less ${(-step).toFixed(2)} s that the step's wait hides`;
            const overFloor = gap >= floor
                ? `the gap is ${(gap - floor).toFixed(2)} s over the floor: this program's own part, ${own.toFixed(2)} s (the same in every step)${stepPart}`
                : "the gap is under the floor (the step's wait hides part of the fixed cost)";
            let parts = "";
            if (label !== "no-op") {
                const [p, k] = [split("pulumi", label), split("kubectl", label)];
                const late = p.write - k.write;
                parts = `; Pulumi's first write came ${late.toFixed(2)} s after kubectl's (the floor program's ` +
                    `${writeFloor.toFixed(2)} s${late > AIM ? "; over the aim before either tool waits for anything" : ""}), ` +
                    `and from its first write to the result it took ${Math.abs(p.after - k.after).toFixed(2)} s ${p.after >= k.after ? "longer" : "less"}`;
            }
            const verdict = gap <= AIM
                ? `meets it${parts}`
                : `misses it by ${(gap - AIM).toFixed(2)} s; ${floor > AIM ? `the floor alone is ${(floor - AIM).toFixed(2)} s over it; ` : ""}${overFloor}${parts}`;
            out(`- ${label}: ${gap.toFixed(2)} s, ${verdict}.`);
        }
        writePlot(path.join(repo, "bench", "results.png"), bars, "eks-nginx on the embedded cluster's real nodes: until the result is observed");
        out();
        out("Plot: bench/results.png");
    }
    writeResults(path.join(repo, "bench", "results.md"), lines);
}

/** Replaces what is between the bench markers of the performance doc; the hand-written text around them stays. */
function writeResults(file: string, tables: string[]): void {
    const start = "<!-- bench:start -->";
    const end = "<!-- bench:end -->";
    const text = fs.readFileSync(file, "utf8");
    const from = text.indexOf(start);
    const to = text.indexOf(end);
    if (from < 0 || to < from) {
        // Not written from scratch: that would drop the analysis. The tables were printed above.
        throw new Error(`${path.relative(repo, file)} has no ${start} … ${end} markers; put them back where the tables go`);
    }
    fs.writeFileSync(file, text.slice(0, from + start.length) + "\n" + tables.join("\n") + "\n" + text.slice(to));
}

main().catch((e) => {
    console.error(`[bench] FAILED: ${(e as Error).message}`);
    process.exit(1);
});
