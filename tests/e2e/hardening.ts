/**
 * Production hardening on the embedded cluster with the real engine (issue: policy, teardown, faults,
 * bad input, secrets): disruption budget, autoscaler ownership, container hardening, the policy pack, bad
 * input through the CLI, `pulumi up` killed mid-rollout, kube-apiserver restarted during an `up`, no plaintext
 * secret in the state, teardown order, destroy with the cluster gone.
 */
import * as fs from "fs";
import * as path from "path";
import { stillRunning } from "../../harness/processes";
import { mustSucceed, tail } from "../../harness/pulumiCommand";
import { watch } from "../../harness/watch";
import { PASSPHRASE } from "../../harness/workspace";
import { APP } from "./app";
import { e2eSuite } from "./suite";

const suite = e2eSuite("e2e hardening", "kwok");
const {
    allClusterPids, appObjects, check, cluster, deployment, kubectl, log, pulumi, pulumiAsync, pulumiStdout,
    readyPods, service, stackResources, step,
} = suite;
const { dir: work, stateDir } = suite.ws;

const STEPS = 8;

function noChanges(): void {
    const r = pulumi(["preview", "--expect-no-changes"]);
    check("pulumi preview --expect-no-changes", r.code === 0, r.code === 0 ? "no changes" : tail(r.output, 15));
}

/** Deployment generation and replicas: what must not move when a run is refused. */
function fingerprint(): string {
    const d = deployment();
    return `generation ${d.metadata.generation}, replicas ${d.spec.replicas}, image ${d.spec.template.spec.containers[0].image}`;
}

// kwok's three fake nodes in three zones: what the control plane does (the budget, the autoscaler's handover,
// the policy pack, bad input, an API server restart, secrets, teardown) needs no real pods, and runs here in
// about half the time. The cases that prove more with real pods are on real nodes: a failing readiness probe and
// a missing image in node-faults.ts; the spread over nodes and zones, and `pulumi up` killed mid-rollout (this
// suite's H5 until then) in nodes.ts (N1, N6), with the traffic counted.
suite.run(STEPS, async () => {
    await step("H1. replicas 3: PodDisruptionBudget, hardened containers, spread over nodes", () => {
        mustSucceed(pulumi(["config", "set", "replicas", "3"]));
        mustSucceed(pulumi(["up", "--yes"]));
        const pdb = kubectl("get", "poddisruptionbudget", "sample-pdb", "-n", "default");
        check("PDB maxUnavailable 1 selecting app=sample-app", pdb.spec.maxUnavailable === 1 && pdb.spec.selector.matchLabels.app === APP, pdb.spec);
        check("PDB allows 1 disruption with 3 healthy pods", pdb.status.disruptionsAllowed === 1 && pdb.status.currentHealthy === 3,
            { currentHealthy: pdb.status.currentHealthy, disruptionsAllowed: pdb.status.disruptionsAllowed });
        const pod = readyPods()[0];
        const sc = pod?.spec.containers[0].securityContext ?? {};
        check("container: no privilege escalation, seccomp RuntimeDefault, drop ALL", sc.allowPrivilegeEscalation === false &&
            sc.seccompProfile?.type === "RuntimeDefault" && sc.capabilities?.drop?.[0] === "ALL", sc);
        const nodes = new Set(readyPods().map((p) => p.spec.nodeName));
        check("3 Ready pods on 3 different nodes", readyPods().length === 3 && nodes.size === 3, [...nodes]);
    });

    await step("H2. autoscaling on: an HPA owns the count, pulumi neither resets nor diffs it; off again", async () => {
        mustSucceed(pulumi(["config", "set", "--path", "autoscaling.enabled", "true"]));
        mustSucceed(pulumi(["config", "set", "--path", "autoscaling.minReplicas", "3"]));
        mustSucceed(pulumi(["config", "set", "--path", "autoscaling.maxReplicas", "6"]));
        const handover = watch(() => deployment().spec.replicas);
        mustSucceed(await pulumiAsync(["up", "--yes"]).done);
        const during = await handover.stop();
        check(`the count never dropped while the autoscaler took over (${during.length} samples)`, during.length > 0 && Math.min(...during) >= 3,
            [...new Set(during)].join(" → "));
        const hpa = kubectl("get", "horizontalpodautoscaler", "sample-hpa", "-n", "default");
        check("HPA 3..6 on CPU targeting the Deployment", hpa.spec.minReplicas === 3 && hpa.spec.maxReplicas === 6 &&
            hpa.spec.scaleTargetRef.name === "sample-deployment", hpa.spec);
        // As the autoscaler would under load (this cluster has no metrics server, so it cannot itself).
        kubectl("scale", "deployment", "sample-deployment", "-n", "default", "--replicas", "5");
        noChanges();
        mustSucceed(pulumi(["up", "--yes"]));
        check("pulumi up left the autoscaler's 5 replicas", deployment().spec.replicas === 5, deployment().spec.replicas);
        mustSucceed(pulumi(["config", "set", "--path", "autoscaling.enabled", "false"]));
        mustSucceed(pulumi(["up", "--yes"]));
        check("autoscaling off: HPA deleted, the Deployment back at replicas 3", deployment().spec.replicas === 3 &&
            appObjects(["horizontalpodautoscalers"]).length === 0, `replicas ${deployment().spec.replicas}`);
    });

    await step("H3. policy pack: the program passes; image nginx:latest is refused by the policy", () => {
        const ok = pulumi(["preview", "--policy-pack", "policy"]);
        check("preview with the policy pack passes", ok.code === 0, ok.code === 0 ? "exit 0" : tail(ok.output, 20));
        check("the pack ran (advisory non-root finding reported)", /containers-run-as-non-root/.test(ok.output),
            ok.output.split("\n").find((l) => /containers-run-as-non-root/.test(l))?.trim() ?? "(not in output)");
        const before = fingerprint();
        mustSucceed(pulumi(["config", "set", "image", "nginx:latest"]));
        const bad = pulumi(["preview", "--policy-pack", "policy"]);
        check("preview fails", bad.code !== 0, `exit ${bad.code}`);
        const line = bad.output.split("\n").find((l) => l.includes("nginx:latest") && l.includes("pin")) ?? tail(bad.output, 10);
        check("message from no-latest-or-untagged-images", /no-latest-or-untagged-images/.test(bad.output) && /uses image "nginx:latest"/.test(bad.output), line.trim());
        check("cluster unchanged", fingerprint() === before, fingerprint());
        mustSucceed(pulumi(["config", "rm", "image"]));
    });

    await step("H4. bad input through the CLI: each preview refused with key, value and accepted values, a type error with tsc's message; cluster unchanged", () => {
        const cases: { set: string[]; expect: RegExp }[] = [
            { set: ["port", "70000"], expect: /port = 70000: expected an integer from 1 to 65535/ },
            { set: ["image", "nginx:"], expect: /image = "nginx:": expected an image reference/ },
            { set: ["--path", "autoscaling.maxReplicas", "0"], expect: /autoscaling\.maxReplicas = 0: expected an integer from 1 to 1000/ },
            { set: ["--path", "security.capabilities[0]", "SYS_ADMIN"], expect: /security\.capabilities\.0 = "SYS_ADMIN": expected each one of/ },
        ];
        const before = fingerprint();
        for (const c of cases) {
            const key = c.set.filter((a) => a !== "--path")[0].split(/[.[]/)[0];
            mustSucceed(pulumi(["config", "set", ...c.set]));
            const r = pulumi(["preview"]);
            const line = r.output.split("\n").find((l) => c.expect.test(l)) ?? tail(r.output, 8);
            check(`${c.set.join(" ")} refused`, r.code !== 0 && c.expect.test(r.output), line.trim());
            mustSucceed(pulumi(["config", "rm", key]));
        }
        // A type error in the program: the run rebuilds bin/ (main.js), tsc refuses, nothing is deployed.
        const source = path.join(work, "index.ts");
        const good = fs.readFileSync(source, "utf8");
        const broken = good.replace("{ ...stack.app.args, provider: cluster.provider",
            "{ ...stack.app.args, replicas: String(stack.app.args.replicas), provider: cluster.provider");
        check("the type error is in the copy's index.ts", broken !== good, broken === good ? "index.ts has no `{ ...stack.app.args, provider: cluster.provider`" : "replicas: a string");
        fs.writeFileSync(source, broken);
        const typeError = pulumi(["up", "--yes"]);
        const tsLine = typeError.output.split("\n").find((l) => /error TS\d+/.test(l)) ?? tail(typeError.output, 8);
        check("a type error in index.ts: pulumi up refused with tsc's message", typeError.code !== 0 && /nothing was deployed/.test(typeError.output) &&
            /index\.ts\(\d+,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/.test(typeError.output), tsLine.trim());
        fs.writeFileSync(source, good);
        check("cluster unchanged", fingerprint() === before, fingerprint());
        // The failed build wrote neither bin/ (noEmitOnError) nor its stamp: bin/ still matches the restored source.
        const fixed = pulumi(["preview"]);
        check("source restored: the next preview runs bin/ as built before, no tsc run", fixed.code === 0 && !/\[build\] type-checking/.test(fixed.output),
            fixed.code === 0 ? "exit 0" : tail(fixed.output, 10));
    });

    await step("H6. fault: kube-apiserver restarted during an up; the run fails or retries, the next up converges", async () => {
        mustSucceed(pulumi(["config", "set", "replicas", "4"]));
        let restarted = false;
        const during = pulumiAsync(["up", "--yes"], (soFar) => {
            if (!restarted && /sample-deployment\s+updating|updating.*sample-deployment/.test(soFar)) {
                restarted = true;
                // Down for 5 s, then back on the same port; the run's own await is what is being tested.
                cluster("restart-apiserver", "5");
            }
        });
        const r = await during.done;
        const message = r.output.split("\n").filter((l) => /refused|unreachable|EOF|timeout|error/i.test(l)).map((l) => l.trim());
        check("the apiserver was restarted during the update", restarted, restarted ? "yes" : "the update was never seen");
        check("the run failed with a clear message, or finished", r.code === 0 || message.length > 0,
            r.code === 0 ? `exit 0 after ${r.seconds.toFixed(1)} s (retried)` : `exit ${r.code}: ${message.slice(0, 2).join(" | ")}`);
        mustSucceed(pulumi(["up", "--yes"]));
        check("4 Ready pods", readyPods().length === 4, readyPods().length);
        noChanges();
    });

    await step("H7. secrets: no plaintext secret in the state file or the stack config", () => {
        const probe = `probe-${Date.now().toString(36)}-secret`;
        mustSucceed(pulumi(["config", "set", "--secret", "e2e:probe", probe]));
        const stateFile = path.join(stateDir, ".pulumi", "stacks", "eks-nginx", "local.json");
        const state = fs.readFileSync(stateFile, "utf8");
        const stackYaml = fs.readFileSync(path.join(work, "Pulumi.local.yaml"), "utf8");
        const kubeconfigText = fs.readFileSync(path.join(work, ".cluster", "kubeconfig"), "utf8");
        const clientKey = /client-key-data: (\S+)/.exec(kubeconfigText)?.[1] ?? "";
        const clientCert = /client-certificate-data: (\S+)/.exec(kubeconfigText)?.[1] ?? "";
        check("state has the kubeconfig only as ciphertext", clientKey.length > 40 && !state.includes(clientKey) && !state.includes(clientCert) &&
            state.includes("4dabf18193072939515e22adb298388d") && /"ciphertext":/.test(state), `${state.length} bytes, ${(state.match(/"ciphertext":/g) ?? []).length} ciphertexts`);
        check("no private key block, no passphrase in the state", !/PRIVATE KEY/.test(state) && !state.includes(PASSPHRASE), "none found");
        check("a secret config value is stored encrypted", !stackYaml.includes(probe) && /e2e:probe:\s*\n\s*secure:/.test(stackYaml) &&
            pulumiStdout("config", "get", "e2e:probe") === probe, "secure: v1:…");
        const out = pulumiStdout("stack", "output", "kubeconfig");
        check("stack output kubeconfig shows as [secret]", out === "[secret]", out);
        mustSucceed(pulumi(["config", "rm", "e2e:probe"]));
    });

    await step("H8. teardown order: the Service (and its load balancer, via the finalizer) is gone before the cluster's provider", async () => {
        const events = path.join(work, "destroy-events.jsonl");
        const states: string[] = [];
        const terminatingAt: number[] = [];
        const watcher = watch(() => {
            try {
                const s = service();
                states.push(s.metadata.deletionTimestamp ? "terminating" : "present");
                if (s.metadata.deletionTimestamp) {
                    terminatingAt.push(Date.now());
                }
            } catch {
                states.push("gone");
            }
            return 0;
        });
        // --event-log is one of the CLI's debug flags.
        const r = await pulumiAsync(["destroy", "--yes", "--event-log", events], undefined, { PULUMI_DEBUG_COMMANDS: "true" }).done;
        await watcher.stop();
        mustSucceed(r);
        const order: string[] = [];
        const started = new Map<string, number>();
        let serviceDeleteSeconds = NaN;
        for (const line of fs.readFileSync(events, "utf8").split("\n").filter(Boolean)) {
            const e = JSON.parse(line);
            const pre = e.resourcePreEvent?.metadata;
            const done = e.resOutputsEvent?.metadata;
            if (pre?.op === "delete") {
                started.set(pre.urn, e.timestamp);
            }
            if (done?.op === "delete") {
                order.push(done.type);
                if (done.type === "kubernetes:core/v1:Service") {
                    serviceDeleteSeconds = e.timestamp - (started.get(done.urn) ?? NaN);
                }
            }
        }
        log(`deletions completed in order: ${order.join(", ")}`);
        const idx = (t: string) => order.indexOf(t);
        check("the Service finished deleting before the Kubernetes provider and the cluster component",
            idx("kubernetes:core/v1:Service") >= 0 && idx("kubernetes:core/v1:Service") < idx("pulumi:providers:kubernetes") &&
            idx("pulumi:providers:kubernetes") < idx("eks-nginx:cluster:KubeconfigCluster"), order);
        const compact = states.filter((x, i) => i === 0 || x !== states[i - 1]);
        // The stand-in controller releases the load balancer (removes the finalizer) 2 s after the delete; the
        // event log's timestamps are whole seconds.
        const held = terminatingAt.length ? (terminatingAt[terminatingAt.length - 1] - terminatingAt[0]) / 1000 : 0;
        check("pulumi waited while the load-balancer finalizer held the Service", held >= 1 && serviceDeleteSeconds >= 1,
            `watched ${compact.join(" → ")}, terminating for ≥ ${held.toFixed(1)} s; the Service's delete took ${serviceDeleteSeconds} s (event log)`);
        check("nothing of the app left", appObjects().length === 0 && stackResources().length === 0, appObjects());
    });

    await step("H9. destroy with the cluster gone: plain destroy says what to do; with PULUMI_K8S_DELETE_UNREACHABLE it succeeds", async () => {
        mustSucceed(pulumi(["up", "--yes"]));
        const before = stackResources().length;
        cluster("stop");
        const plain = pulumi(["destroy", "--yes"]);
        const said = plain.output.split("\n").find((l) => /PULUMI_K8S_DELETE_UNREACHABLE/.test(l))?.trim() ?? tail(plain.output, 8);
        check("plain destroy fails naming PULUMI_K8S_DELETE_UNREACHABLE, state kept", plain.code !== 0 &&
            /PULUMI_K8S_DELETE_UNREACHABLE/.test(plain.output) && stackResources().length === before, said);
        const forced = pulumi(["destroy", "--yes"], { PULUMI_K8S_DELETE_UNREACHABLE: "true" });
        check("PULUMI_K8S_DELETE_UNREACHABLE=true pulumi destroy succeeds, stack empty", forced.code === 0 && stackResources().length === 0,
            forced.code === 0 ? `${before} resources removed from the stack` : tail(forced.output, 10));
        const pids = allClusterPids();
        const running = await stillRunning(pids);
        check("every cluster process ended (6 PIDs: 5 components + the restarted apiserver)", pids.length === 6 && running.length === 0,
            `${pids.length} recorded, running: ${running.join(",") || "none"}`);
    });
});
