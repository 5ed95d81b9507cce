/**
 * The app's readiness check (components/appReadiness.ts) on API answers made here: what it waits for after an
 * image change (no pod of an earlier revision), for pods behind the Service (with the reason one is not Ready),
 * the url over HTTP, and its failure after the timeout; the readiness settings per target (stacks/app.ts).
 */
import * as assert from "assert";
import * as http from "http";
import * as net from "net";
import { AddressInfo } from "net";
import { AppReadinessTarget, missing, waitUntilServing } from "../components/appReadiness";
import type { KubernetesApi } from "../components/kubernetesApi";
import { configMap, FAKE_KUBECONFIG, one, runProgram, stageConfig, writeTempKubeconfig } from "../harness/mocks";
import { readStack } from "../stacks/stack";

const DEPLOYMENT_UID = "d-uid";
const rs = (name: string, revision: string) => ({
    metadata: { name, uid: `${name}-uid`, annotations: { "deployment.kubernetes.io/revision": revision }, ownerReferences: [{ uid: DEPLOYMENT_UID }] },
});
const pod = (name: string, replicaSet: string, status: Record<string, unknown> = {}, deleting = false) => ({
    metadata: { name, uid: `${name}-uid`, ownerReferences: [{ uid: `${replicaSet}-uid` }], ...(deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}) },
    status,
});
const readyEndpoint = (podName: string) => ({ conditions: { ready: true }, targetRef: { uid: `${podName}-uid` }, addresses: ["198.18.0.9"] });

interface World { replicas: number; revision: string; replicaSets: any[]; pods: any[]; endpoints: any[]; observedGeneration?: number }

/** A KubernetesApi that answers from `w`, as the API server would for these paths. */
function fakeApi(w: World): KubernetesApi {
    return {
        get: async (p: string) => {
            if (p.includes("/deployments/")) {
                return {
                    metadata: { uid: DEPLOYMENT_UID, generation: 2, annotations: { "deployment.kubernetes.io/revision": w.revision } },
                    spec: { replicas: w.replicas }, status: { observedGeneration: w.observedGeneration ?? 2 },
                };
            }
            if (p.includes("/replicasets?")) {
                return { items: w.replicaSets };
            }
            if (p.includes("/pods?")) {
                return { items: w.pods };
            }
            if (p.includes("/endpointslices?")) {
                return { items: [{ endpoints: w.endpoints }] };
            }
            throw new Error(`unexpected GET ${p}`);
        },
        close: () => {},
    };
}

const target = (extra: Partial<AppReadinessTarget> = {}): AppReadinessTarget => ({
    namespace: "default", deployment: "sample-deployment", service: "sample-service", selector: "app=sample-app",
    timeoutSeconds: 5, drainSeconds: 5, log: () => {}, ...extra,
});

describe("app readiness check", () => {
    it("after an image change: waits while a pod of the earlier revision is left, even one that drains", async () => {
        const w: World = {
            replicas: 1, revision: "2", replicaSets: [rs("old", "1"), rs("new", "2")],
            pods: [pod("old-a", "old", {}, true), pod("new-a", "new")], endpoints: [readyEndpoint("new-a")],
        };
        assert.deepStrictEqual(await missing(fakeApi(w), target()),
            ["1 pod of an earlier revision still there (old-a; each drains 5 s once its replacement is ready, then stops)"]);
        w.pods = [pod("new-a", "new")];
        assert.deepStrictEqual(await missing(fakeApi(w), target()), []);
    });

    it("counts only Ready pods of the current revision behind the Service, and says why the others are not", async () => {
        const w: World = {
            replicas: 3, revision: "1", replicaSets: [rs("cur", "1")],
            pods: [
                pod("a", "cur"),
                pod("b", "cur", { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/1 nodes are available: 1 node(s) were unschedulable." }] }),
                pod("c", "cur", { phase: "Running", containerStatuses: [{ state: { running: {} }, restartCount: 0 }], conditions: [{ type: "Ready", status: "False" }] }),
            ],
            endpoints: [readyEndpoint("a")],
        };
        assert.deepStrictEqual(await missing(fakeApi(w), target()), ["1 of 3 pods ready behind Service sample-service " +
            "(b: Unschedulable: 0/1 nodes are available: 1 node(s) were unschedulable.; c: running, readiness probe not passing)"]);
        w.pods[2] = pod("c", "cur", { containerStatuses: [{ state: { waiting: { reason: "ImagePullBackOff", message: "pull failed" } } }] });
        assert.match((await missing(fakeApi(w), target()))[0], /c: ImagePullBackOff: pull failed\)$/);
        // Ready by its probe, not yet listed ready in the Service's EndpointSlices: said so, not "probe not passing".
        w.pods[2] = pod("c", "cur", { phase: "Running", containerStatuses: [{ state: { running: {} }, restartCount: 0 }], conditions: [{ type: "Ready", status: "True" }] });
        assert.match((await missing(fakeApi(w), target()))[0], /c: Ready, not yet a ready endpoint of the Service\)$/);
    });

    it("waits for the Deployment controller to see the change first", async () => {
        const w: World = { replicas: 1, revision: "1", replicaSets: [rs("cur", "1")], pods: [pod("a", "cur")], endpoints: [readyEndpoint("a")], observedGeneration: 1 };
        assert.deepStrictEqual(await missing(fakeApi(w), target()), ["the Deployment controller has not seen the change yet"]);
    });

    it("with a url: the url must answer over HTTP (any status); a refused port is missing", async () => {
        const w: World = { replicas: 1, revision: "1", replicaSets: [rs("cur", "1")], pods: [pod("a", "cur")], endpoints: [readyEndpoint("a")] };
        const server = http.createServer((_req, res) => res.writeHead(404).end());
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const port = (server.address() as AddressInfo).port;
        try {
            assert.deepStrictEqual(await missing(fakeApi(w), target({ url: `http://127.0.0.1:${port}/` })), []);
        } finally {
            await new Promise((resolve) => server.close(resolve));
        }
        const refused = await missing(fakeApi(w), target({ url: `http://127.0.0.1:${port}/` }));
        assert.deepStrictEqual(refused, [`http://127.0.0.1:${port}/ does not answer from this machine (ECONNREFUSED)`]);
        w.replicas = 0;
        w.pods = [];
        assert.deepStrictEqual(await missing(fakeApi(w), target({ url: `http://127.0.0.1:${port}/` })), [], "0 replicas: nothing to answer");
    });

    it("a GET that hangs does not hold the check: one on a new connection a pass later answers, and the hung one is dropped at the end", async () => {
        const w: World = { replicas: 1, revision: "1", replicaSets: [rs("cur", "1")], pods: [pod("a", "cur")], endpoints: [readyEndpoint("a")] };
        // The first connection is accepted and never answered (as one made while the rules change); the rest get a 200.
        let connections = 0;
        let hungClosed = false;
        const server = net.createServer((socket) => {
            if (++connections === 1) {
                socket.resume();
                socket.on("close", () => { hungClosed = true; });
                return;
            }
            socket.once("data", () => socket.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"));
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
        const logged: string[] = [];
        try {
            const t0 = Date.now();
            await waitUntilServing(fakeApi(w), target({ url, log: (m) => logged.push(m) }));
            const took = Date.now() - t0;
            assert.ok(took < 700, `took ${took} ms: the check waited for the hung GET (its timeout is 1000 ms)`);
            assert.ok(connections >= 2, `${connections} connections`);
            assert.deepStrictEqual(logged, [`waiting: ${url} does not answer from this machine (no answer yet)`]);
            await new Promise((resolve) => setTimeout(resolve, 50));
            assert.ok(hungClosed, "the hung GET was left open after the check returned");
        } finally {
            await new Promise((resolve) => server.close(resolve));
        }
    });

    it("fails after its timeout with what is still missing, and logs each change of it once", async () => {
        const w: World = { replicas: 1, revision: "1", replicaSets: [rs("cur", "1")], pods: [], endpoints: [] };
        const logged: string[] = [];
        const t0 = Date.now();
        await assert.rejects(waitUntilServing(fakeApi(w), target({ timeoutSeconds: 1, log: (m) => logged.push(m) })),
            /^Error: the app does not serve what was asked for after 1 s \(rolloutTimeout\): 0 of 1 pods ready behind Service sample-service$/);
        assert.ok(Date.now() - t0 >= 1000 && Date.now() - t0 < 3000, `${Date.now() - t0} ms`);
        assert.deepStrictEqual(logged, ["waiting: 0 of 1 pods ready behind Service sample-service"]);
    });

    it("returns as soon as nothing is missing", async () => {
        const w: World = { replicas: 1, revision: "1", replicaSets: [rs("cur", "1")], pods: [pod("a", "cur")], endpoints: [readyEndpoint("a")] };
        await waitUntilServing(fakeApi(w), target());
    });
});

/** FAKE_KUBECONFIG's cluster saying, as the embedded cluster with real nodes does, that its load balancer answers here. */
function answeringHere(): string {
    const config = JSON.parse(FAKE_KUBECONFIG);
    config.clusters[0].cluster.extensions = [{ name: "eks-nginx/load-balancer", extension: { answers: "this-machine" } }];
    return JSON.stringify(config);
}

describe("readiness settings (readinessCheck)", () => {
    const local = (extra: Record<string, unknown> = {}, kubeconfig = answeringHere()) =>
        readStack({ ...stageConfig("local"), ...configMap({ kubeconfig: writeTempKubeconfig(kubeconfig), ...extra }) }).app.readiness;
    it("a cluster whose load balancer answers here: API and HTTP; API only when source ranges may leave this machine out, or when asked", () => {
        assert.deepStrictEqual(local(), { http: true });
        assert.deepStrictEqual(local({ loadBalancer: { sourceRanges: ["10.0.0.0/8"] } }), { http: false });
        assert.deepStrictEqual(local({ readinessCheck: "api" }), { http: false });
        assert.strictEqual(local({ readinessCheck: "off" }), undefined);
    });

    it("any other kubeconfig cluster (kind, minikube, kwok's nodes): API only unless asked", () => {
        assert.deepStrictEqual(local({}, FAKE_KUBECONFIG), { http: false });
        assert.deepStrictEqual(local({ readinessCheck: "http" }, FAKE_KUBECONFIG), { http: true });
    });

    it("reads the API in the stack's kubeContext, as the provider does", () => {
        assert.deepStrictEqual(local({ kubeContext: "aws" }, FAKE_KUBECONFIG), { http: false, context: "aws" });
    });

    it("EKS: API only unless asked", () => {
        assert.deepStrictEqual(readStack(stageConfig("dev")).app.readiness, { http: false });
        assert.deepStrictEqual(readStack({ ...stageConfig("dev"), ...configMap({ readinessCheck: "http" }) }).app.readiness, { http: true });
    });

    it("the program under mocks registers the app without waiting for a cluster", async () => {
        const t0 = Date.now();
        await runProgram({ ...stageConfig("local"), ...configMap({ kubeconfig: writeTempKubeconfig() }) });
        assert.ok(Date.now() - t0 < 20000);
        assert.strictEqual(one("kubernetes:core/v1:Service").inputs.metadata.annotations["pulumi.com/waitFor"],
            '["jsonpath={.status.loadBalancer.ingress[0]}","jsonpath={.spec.ports[0].port}=80"]');
        // The port asked for is part of the await, so that a version of the Service from before a port change cannot end it.
        await runProgram({ ...stageConfig("local"), ...configMap({ kubeconfig: writeTempKubeconfig(), port: 8080 }) });
        assert.strictEqual(one("kubernetes:core/v1:Service").inputs.metadata.annotations["pulumi.com/waitFor"],
            '["jsonpath={.status.loadBalancer.ingress[0]}","jsonpath={.spec.ports[0].port}=8080"]');
    });
});
