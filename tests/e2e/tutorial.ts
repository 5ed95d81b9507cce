/**
 * The tutorial's scenario (docs/tutorial.md, steps 1-7; "row N" in a title is step N there) as one list of steps,
 * run on two targets: the embedded cluster's real nodes (tests/e2e/scenario.ts, in CI) and a new stack on AWS
 * (npm run test:aws, opt-in). Each step runs the `pulumi` commands docs/eks.md and docs/local-clusters.md give a
 * user, then checks the result as the tutorial's reader saw it, over HTTP on the stack's `url`, and through the
 * Kubernetes API.
 */
import { Answer, get, pageOf, startTraffic } from "../../harness/http";
import { mustSucceed } from "../../harness/pulumiCommand";
import { APP } from "./app";
import { StepTools } from "./tools";

/** What differs between the places the tutorial runs. */
export interface TutorialTarget {
    /** The images of the swap, e.g. nginx:1.28.0 and httpd:2.4. */
    images: { nginx: string; httpd: string };
    /** The load balancer's address as the Service reports it (an IP here, a hostname on AWS), and what it must look like. */
    address: { of: (ingress: { ip?: string; hostname?: string }) => string; expected: RegExp; description: string };
    /** The url's first answer: waits as long as the target's load balancer needs to come up (DNS on AWS), bounded. */
    firstAnswer: (url: string) => Promise<Answer>;
    /** Whether an answer says that nothing serves there any more (refused here; on AWS also a name gone from DNS). */
    refused: (a: Answer) => boolean;
    /** After `pulumi destroy`: what the target checks besides an empty stack (e.g. stop the cluster, compare the machine). */
    afterDestroy: () => Promise<void>;
    /** After the first `pulumi up`: lets kubectl reach the new cluster (on AWS, the stack's kubeconfig); unset: it already can. */
    connect?: () => void;
    /** An answer where nothing should serve any more, waiting (bounded) while the load balancer lets go (AWS); unset: one GET. */
    lastAnswer?: (url: string) => Promise<Answer>;
    /**
     * Whether `pulumi up` waits until the url answers from this machine (readinessCheck http), so that a new port
     * serves the moment it returns; false where the check is API-only (EKS: the listeners change after it returns).
     */
    servesWhenUpReturns: boolean;
}

/** `n` GETs on new connections, one after the other, sent the moment `pulumi up` returned: the pages that answered. */
async function answersRightAfter(url: string, n: number): Promise<{ pages: string[]; seconds: number }> {
    const t0 = Date.now();
    const pages: string[] = [];
    for (let i = 0; i < n; i++) {
        const a = await get(url, 2000);
        pages.push(pageOf(a) === "other" ? a.error ?? `HTTP ${a.status}` : pageOf(a));
    }
    return { pages, seconds: (Date.now() - t0) / 1000 };
}

const tally = (pages: string[]) => Object.entries(pages.reduce<Record<string, number>>((n, p) => ({ ...n, [p]: (n[p] ?? 0) + 1 }), {}))
    .map(([p, n]) => `${n} × ${p}`).join(", ");

export interface TutorialStep {
    title: string;
    run: () => Promise<void>;
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The steps on target `t`, run with `tools` (the workspace's pulumi and kubectl, and the report). */
export function tutorialSteps(t: TutorialTarget, tools: StepTools): TutorialStep[] {
    const { check, deployment, kubectl, kubectlText, log, pulumi, pulumiAsync, pulumiStdout, readyPods, service, stackResources } = tools;
    const output = (name: string) => pulumiStdout("stack", "output", name);
    let firstPodUid = "";
    let url = "";
    let address = "";
    const { nginx, httpd } = t.images;
    return [{
        title: "1. pulumi up: Deployment 1/1, a LoadBalancer Service, and nginx's welcome page on the url (rows 2-3)",
        run: async () => {
            mustSucceed(pulumi(["up", "--yes"]));
            t.connect?.();
            const d = deployment();
            const [c] = d.spec.template.spec.containers;
            check("deployment available", d.status.availableReplicas === 1 && d.spec.replicas === 1, `${d.status.availableReplicas}/${d.spec.replicas}`);
            check("selector and pod labels app=sample-app", d.spec.selector.matchLabels.app === APP && d.spec.template.metadata.labels.app === APP,
                { selector: d.spec.selector.matchLabels, labels: d.spec.template.metadata.labels });
            check("strategy RollingUpdate 25%/25%", d.spec.strategy.type === "RollingUpdate" &&
                d.spec.strategy.rollingUpdate.maxSurge === "25%" && d.spec.strategy.rollingUpdate.maxUnavailable === "25%", d.spec.strategy);
            check(`container nginx-container, image ${nginx}, port 80`, c.name === "nginx-container" && c.image === nginx &&
                c.ports[0].containerPort === 80, `${c.name} ${c.image} :${c.ports[0].containerPort}`);
            const s = service();
            check("service type LoadBalancer, port 80 → the container's port http", s.spec.type === "LoadBalancer" &&
                s.spec.ports[0].port === 80 && s.spec.ports[0].targetPort === "http", `${s.spec.type} ${s.spec.ports[0].port} → ${s.spec.ports[0].targetPort}`);
            address = t.address.of(s.status.loadBalancer?.ingress?.[0] ?? {});
            check(`load balancer address: ${t.address.description}`, t.address.expected.test(address), address || "none");
            url = output("url");
            check("stack output url is the load balancer's address and port", url === `http://${address}:80`, url);
            const pods = readyPods();
            check("one Ready pod", pods.length === 1, pods.map((p) => p.metadata.name));
            firstPodUid = pods[0]?.metadata.uid ?? "";
            const answer = await t.firstAnswer(url);
            check("GET url: 200 with nginx's welcome page", pageOf(answer) === "nginx", `${answer.status || answer.error} ${answer.body.length} bytes`);
        },
    }, {
        title: "2. pulumi config set replicas 3 + up: the first pod kept, requests reach all three pods (row 4)",
        run: async () => {
            mustSucceed(pulumi(["config", "set", "replicas", "3"]));
            mustSucceed(pulumi(["up", "--yes"]));
            const pods = readyPods();
            check("3 Ready pods", pods.length === 3, pods.map((p) => p.metadata.name));
            check("first pod still there (same UID)", pods.some((p) => p.metadata.uid === firstPodUid), firstPodUid);
            // A marker in the path tells these requests from the kubelet's probes in the access logs. kube-proxy
            // adds a new pod to the load balancer's rules a moment after it is Ready: batches of 30, at most 10.
            const marker = `e2e-${Date.now().toString(36)}`;
            const perPod = () => pods.map((p) => kubectlText("logs", p.metadata.name, "-n", "default", "-c", "nginx-container")
                .split("\n").filter((l) => l.includes(marker)).length);
            let sent = 0;
            let served = 0;
            let counts = [0, 0, 0];
            while (sent < 300 && (sent === 0 || counts.some((n) => n === 0))) {
                for (let i = 0; i < 30; i++, sent++) {
                    served += pageOf(await get(`${url}/?${marker}=${sent}`)) === "nginx" ? 1 : 0;
                }
                counts = perPod();
            }
            check(`${sent} requests on new connections, all 200 from nginx`, served === sent, `${served} of ${sent}`);
            check("each pod's access log has some of them", counts.length === 3 && counts.every((n) => n > 0) &&
                counts.reduce((a, b) => a + b, 0) === sent, counts.join(" + ") + " requests");
        },
    }, {
        title: "3. pulumi config set port 8080 + up: same address and Service, :8080 answers, :80 no longer (row 5)",
        run: async () => {
            const before = service();
            mustSucceed(pulumi(["config", "set", "port", "8080"]));
            mustSucceed(pulumi(["up", "--yes"]));
            if (t.servesWhenUpReturns) {
                const right = await answersRightAfter(`http://${address}:8080/`, 10);
                check("the moment up returned, :8080 serves: 10 GETs, all nginx's page", right.pages.every((p) => p === "nginx"),
                    `${tally(right.pages)} in ${right.seconds.toFixed(2)} s`);
            }
            const s = service();
            check("service port 8080 → the container's port http", s.spec.ports[0].port === 8080 && s.spec.ports[0].targetPort === "http",
                `${s.spec.ports[0].port} → ${s.spec.ports[0].targetPort}`);
            check("same Service UID and cluster IP", s.metadata.uid === before.metadata.uid && s.spec.clusterIP === before.spec.clusterIP,
                `${s.metadata.uid} ${s.spec.clusterIP}`);
            check("same load balancer address", t.address.of(s.status.loadBalancer?.ingress?.[0] ?? {}) === address, s.status.loadBalancer);
            url = output("url");
            check("stack output url on the same address, port 8080", url === `http://${address}:8080`, url);
            const on8080 = await t.firstAnswer(url);
            check("GET :8080 → nginx's page", pageOf(on8080) === "nginx", `${on8080.status || on8080.error}`);
            const on80 = await (t.lastAnswer ?? get)(`http://${address}:80/`);
            check(":80 no longer answers", t.refused(on80), on80.error ?? `HTTP ${on80.status}`);
        },
    }, {
        title: `4. image ${httpd} and replicas 1 + up: rolling update under 20 requests/s, none failed, nginx → "It works!" (row 6)`,
        run: async () => {
            const rsBefore = kubectl("get", "replicasets", "-n", "default", "-l", `app=${APP}`).items.map((r: any) => r.metadata.name);
            const traffic = startTraffic(url, 20);
            mustSucceed(pulumi(["config", "set", "image", httpd]));
            mustSucceed(pulumi(["config", "set", "replicas", "1"]));
            const r = await pulumiAsync(["up", "--yes"]).done;
            // The README's curl right after up: answered by the new image only, since up returned once no old pod was left.
            const right = await answersRightAfter(url, 20);
            check("the moment up returned: 20 GETs, all \"It works!\" (no old pod left to answer)", right.pages.every((p) => p === "httpd"),
                `${tally(right.pages)} in ${right.seconds.toFixed(2)} s`);
            // A moment more for the traffic's last requests.
            await wait(2000);
            const report = await traffic.stop();
            mustSucceed(r);
            log(`traffic: ${report.sent} requests in ${report.seconds.toFixed(1)} s, ${report.failed} failed; answers in order: ${report.pages.join(", ")}`);
            check(`${report.sent} requests, ${report.failed} failed`, report.failed === 0 && report.sent >= 20 * (report.seconds - 1),
                report.failures.length ? report.failures.join("; ") : `${(report.sent / report.seconds).toFixed(1)} requests/s`);
            check("answers switched from nginx's page to \"It works!\"", report.pages[0]?.startsWith("nginx") === true &&
                report.pages[report.pages.length - 1]?.startsWith("httpd") === true, report.pages.join(", "));
            const d = deployment();
            const newRs = kubectl("get", "replicasets", "-n", "default", "-l", `app=${APP}`).items.filter((x: any) => !rsBefore.includes(x.metadata.name));
            check("a new ReplicaSet, revision 2", newRs.length === 1 && d.metadata.annotations["deployment.kubernetes.io/revision"] === "2",
                `${newRs.map((x: any) => x.metadata.name)} revision ${d.metadata.annotations["deployment.kubernetes.io/revision"]}`);
            const pods = readyPods();
            check(`one pod, running ${httpd} in container nginx-container (name kept)`, pods.length === 1 &&
                pods[0].spec.containers[0].image === httpd && pods[0].spec.containers[0].name === "nginx-container",
                pods.map((p) => `${p.metadata.name} ${p.spec.containers[0].name} ${p.spec.containers[0].image}`));
        },
    }, {
        title: "5. pulumi preview --expect-no-changes (idempotent)",
        run: async () => {
            const r = pulumi(["preview", "--expect-no-changes"]);
            check("preview reports no changes", r.code === 0, r.code === 0 ? "no changes" : r.output.split("\n").slice(-15).join("\n"));
        },
    }, {
        title: "6. pulumi config set replicas -- -1 + preview: refused, nothing changed, still serving",
        run: async () => {
            const before = deployment();
            mustSucceed(pulumi(["config", "set", "replicas", "--", "-1"]));
            const r = pulumi(["preview"]);
            check("preview fails", r.code !== 0, `exit ${r.code}`);
            const line = r.output.split("\n").find((l) => l.includes("replicas = -1")) ?? "(no message)";
            check("message names key, value and what is accepted", /replicas = -1: expected an integer from 0 to 1000/.test(r.output), line.trim());
            const after = deployment();
            check("deployment unchanged", after.metadata.generation === before.metadata.generation && after.spec.replicas === 1,
                `generation ${after.metadata.generation}, replicas ${after.spec.replicas}`);
            const answer = await get(url);
            check("the url still answers \"It works!\"", pageOf(answer) === "httpd", `${answer.status || answer.error}`);
            mustSucceed(pulumi(["config", "set", "replicas", "1"]));
            check("value restored", pulumiStdout("config", "get", "replicas") === "1", pulumiStdout("config", "get", "replicas"));
        },
    }, {
        title: "7. pulumi destroy: the address no longer answers, the stack is empty (row 7)",
        run: async () => {
            mustSucceed(pulumi(["destroy", "--yes"]));
            const answer = await (t.lastAnswer ?? get)(url);
            check("the url no longer answers", t.refused(answer), answer.error ?? `HTTP ${answer.status}`);
            const resources = stackResources();
            check("stack has no resources", resources.length === 0, `${resources.length} resources`);
            await t.afterDestroy();
        },
    }];
}
