/**
 * README's commands for the embedded cluster, as a user types them in a fresh clone: `npm start`, a second
 * `npm start`, then each line of README's "The tutorial on the embedded cluster" block in order, each checked
 * over HTTP and through the Kubernetes API; the last, `npm run local -- destroy`, must leave no cluster process
 * and the machine as it was. The suite reads the commands from README.md and fails when they are not the ones
 * it checks, so that README and what is tested change together.
 *
 * The clone: the checkout's tracked files (git ls-files) copied into the workspace, with node_modules linked
 * (so step 1's `npm ci` has nothing to do). The environment: the caller's, without what scripts/pulumi-env.sh
 * and the harness add (the state backend and its passphrase, PULUMI_HOME, CLUSTER_DIR, KUBECONFIG, the
 * checkout's .toolchain on PATH), so that the clone's own defaults apply: its .pulumi-state, .cluster and
 * .toolchain (which `npm start`'s step 2 fills from the toolchain's cache). TMPDIR stays the workspace's
 * scratch folder, so that nothing lands in the machine's /tmp.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Answer, get, pageOf, startTraffic } from "../../harness/http";
import { toolchainValue } from "../../toolchain/versions";
import { e2eSuite } from "./suite";

const repo = path.resolve(__dirname, "..", "..");
const suite = e2eSuite("e2e readme", "real", "none");
const { check, checkLeftNothing, clusterPids, deployment, log, readyPods, step, timings, ws } = suite;

/** The commands of the first `sh` block under README's heading `## <heading>`, without their comments. */
function readmeCommands(heading: string): string[] {
    const lines = fs.readFileSync(path.join(repo, "README.md"), "utf8").split("\n");
    const at = lines.indexOf(`## ${heading}`);
    const open = lines.findIndex((l, i) => i > at && l === "```sh");
    const close = lines.findIndex((l, i) => i > open && l === "```");
    if (at < 0 || open < 0 || close < 0) {
        throw new Error(`README.md has no sh block under "## ${heading}"`);
    }
    return lines.slice(open + 1, close).map((l) => l.replace(/\s+#.*$/, "").trim()).filter(Boolean);
}

/** The environment of a user's shell in the clone (see the top of this file). */
function userEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: ws.scratch };
    for (const key of Object.keys(env)) {
        if (key.startsWith("PULUMI_") || ["CLUSTER_DIR", "KUBECONFIG", "EKS_NGINX_NODE"].includes(key)) {
            delete env[key];
        }
    }
    env.PATH = (env.PATH ?? "").split(":").filter((p) => p !== path.join(repo, ".toolchain", "bin")).join(":");
    return env;
}

interface Run { code: number | null; stdout: string; stderr: string; seconds: number }

/** `command` in the clone, through bash as a user's shell runs it; its last lines are logged. */
function run(command: string): Run {
    const t0 = Date.now();
    const r = spawnSync("bash", ["-c", command], { cwd: ws.dir, env: userEnv(), encoding: "utf8", maxBuffer: 64 << 20, stdio: ["ignore", "pipe", "pipe"] });
    const seconds = (Date.now() - t0) / 1000;
    timings.push(`${command}: ${seconds.toFixed(1)} s`);
    const tail = `${r.stdout}${r.stderr}`.trim().split("\n").slice(-4);
    log(`$ ${command} → exit ${r.status} in ${seconds.toFixed(1)} s\n      ${tail.join("\n      ")}`);
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, seconds };
}

/** `npm start`'s closing line: its time, the url and what the url served. */
function readyLine(r: Run): { seconds: number; url: string; serves: string } | undefined {
    const m = /\[start\] ready in (\d+)s: (\S+) serves "([^"]*)"/.exec(r.stderr + r.stdout);
    return m ? { seconds: Number(m[1]), url: m[2], serves: m[3] } : undefined;
}

const stackUrl = () => run("npm run --silent local -- stack output url").stdout.trim();
const seen = (a: Answer) => (pageOf(a) === "other" ? a.error ?? `HTTP ${a.status}` : pageOf(a));
const image = () => deployment().spec.template.spec.containers[0].image as string;

const httpd = toolchainValue("HTTPD_IMAGE");
let url = "";
let firstPod = "";

/** README's tutorial block, line by line: each line, and `steps` running it (`sh`) and checking what it did. */
const tutorial: { command: string; title: string; steps: (sh: () => Run) => Promise<void> }[] = [
    {
        command: "npm run local -- config set replicas 3 && npm run local -- up",
        title: "scale to 3: the running pod stays, two are added",
        steps: async (sh) => {
            const r = sh();
            const names = readyPods().map((p) => p.metadata.name as string);
            check("exit 0, then 3 Ready pods, the first one among them", r.code === 0 && names.length === 3 && names.includes(firstPod), names);
        },
    },
    {
        command: "npm run local -- config set port 8080 && npm run local -- up",
        title: "port 8080: same address, now on :8080",
        steps: async (sh) => {
            const r = sh();
            const [onNew, onOld] = [await get(`http://${new URL(url).hostname}:8080`), await get(url)];
            const moved = stackUrl();
            check("exit 0; the stack's url is the same address on :8080", r.code === 0 && moved === `http://${new URL(url).hostname}:8080`, moved);
            check("the moment up returned, :8080 serves nginx and :80 refuses", pageOf(onNew) === "nginx" && onOld.error === "ECONNREFUSED",
                { ":8080": seen(onNew), ":80": seen(onOld) });
            url = moved;
        },
    },
    {
        command: `npm run local -- config set image ${httpd}`,
        title: "the image set: nothing changes until up",
        steps: async (sh) => {
            const r = sh();
            check("exit 0; the Deployment still runs the nginx image", r.code === 0 && image() !== httpd, image());
        },
    },
    {
        command: "npm run local -- config set replicas 1 && npm run local -- up",
        title: "replicas 1 and the new image: rolling update, no request dropped (20 requests/s)",
        steps: async (sh) => {
            const traffic = startTraffic(url, 20);
            const r = sh();
            const report = await traffic.stop();
            log(`traffic: ${report.sent} requests in ${report.seconds.toFixed(1)} s, ${report.failed} failed; answers in order: ${report.pages.join(", ")}`);
            const pods = readyPods();
            check("exit 0; 1 Ready pod, of the new image", r.code === 0 && pods.length === 1 && image() === httpd, { pods: pods.length, image: image() });
            check(`${report.sent} requests during it, none failed`, report.failed === 0 && report.sent >= 20 * (report.seconds - 1), report.failures);
        },
    },
    {
        command: 'curl "$(npm run --silent local -- stack output url)"',
        title: "curl the url: It works!",
        steps: async (sh) => {
            const r = sh();
            check("exit 0; curl prints Apache's \"It works!\"", r.code === 0 && r.stdout.includes("<h1>It works!</h1>"), r.stdout.slice(0, 120));
        },
    },
    {
        command: "npm run local -- destroy",
        title: "destroy: the app removed and the cluster stopped, the machine as before",
        steps: async (sh) => {
            const pids = clusterPids();
            const r = sh();
            check("exit 0; the cluster's folder is gone", r.code === 0 && !fs.existsSync(ws.clusterDir), { code: r.code });
            const answer = await get(url);
            check("the url refuses", answer.error === "ECONNREFUSED", seen(answer));
            await checkLeftNothing("npm run local -- destroy", pids, 20);
        },
    },
];

suite.run(3 + tutorial.length, async () => {
    await step("README's commands are the ones this suite checks; the fresh clone made", () => {
        const fresh = readmeCommands("From a fresh clone");
        const block = readmeCommands("The tutorial on the embedded cluster");
        check("\"From a fresh clone\": npm start, npm test", JSON.stringify(fresh) === JSON.stringify(["npm start", "npm test"]), fresh);
        const expected = tutorial.map((t) => t.command);
        check("\"The tutorial on the embedded cluster\": the commands of tests/e2e/readme.ts, in order", JSON.stringify(block) === JSON.stringify(expected),
            block.join(" | "));
        const files = execFileSync("git", ["ls-files", "-z"], { cwd: repo, encoding: "utf8" }).split("\0").filter(Boolean);
        for (const file of files.filter((f) => fs.existsSync(path.join(repo, f)))) {
            fs.mkdirSync(path.dirname(path.join(ws.dir, file)), { recursive: true });
            fs.copyFileSync(path.join(repo, file), path.join(ws.dir, file));
            fs.chmodSync(path.join(ws.dir, file), fs.statSync(path.join(repo, file)).mode);
        }
        fs.symlinkSync(path.join(repo, "node_modules"), path.join(ws.dir, "node_modules"));
        log(`the clone: ${files.length} tracked files in ${ws.dir}, node_modules linked`);
    });

    await step("npm start on the fresh clone: the app on three real nodes, its url serving nginx's page", async () => {
        const r = run("npm start");
        const ready = readyLine(r);
        check("exit 0, ending \"[start] ready in Ns: <url> serves \"Welcome to nginx!\"\"", r.code === 0 && ready?.serves === "Welcome to nginx!", ready ?? "no ready line");
        url = ready?.url ?? "";
        const answer = url ? await get(url) : { status: 0, body: "", error: "no url" };
        const pods = readyPods();
        firstPod = pods[0]?.metadata.name ?? "";
        check("the url serves nginx's page; 1 Ready pod", pageOf(answer) === "nginx" && pods.length === 1, { [url]: seen(answer), pods: pods.length });
        const nodes = suite.kubectl("get", "nodes").items.map((n: { metadata: { name: string } }) => n.metadata.name);
        check("the cluster's 3 real nodes", nodes.length === 3 && fs.readFileSync(path.join(ws.clusterDir, "mode"), "utf8").trim() === "real", nodes);
    });

    await step("a second npm start converges in seconds and prints the same url", async () => {
        const r = run("npm start");
        const ready = readyLine(r);
        check("exit 0, the cluster already running, the same url, within 30 s",
            r.code === 0 && /\[cluster\] already running/.test(r.stderr) && ready?.url === url && r.seconds < 30, { url: ready?.url, seconds: r.seconds });
    });

    for (const t of tutorial) {
        await step(`README: ${t.command} (${t.title})`, () => t.steps(() => run(t.command)));
    }
});
