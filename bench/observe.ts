/**
 * What a user of either tool waits for after each tutorial step, as one condition per step checked over HTTP and
 * the Kubernetes API the same way for pulumi and kubectl (the "result observed" column of the bench):
 *   create  → the url serves nginx's page;
 *   scale   → three Ready pods behind the Service (its EndpointSlices);
 *   port    → the new port serves and the old one refuses;
 *   image   → no pod of the old image is left, and every answer (5 on new connections) is the new page;
 *   destroy → the address refuses and no object or pod of the app is left.
 */
import * as fs from "fs";
import { get, pageOf } from "../harness/http";
import { KubernetesApi, kubernetesApi } from "../components/kubernetesApi";

export const APP = "sample-app";
const NS = "/api/v1/namespaces/default";
const APPS = "/apis/apps/v1/namespaces/default";
const selector = `labelSelector=${encodeURIComponent(`app=${APP}`)}`;

export type Condition = (api: KubernetesApi) => Promise<boolean>;

/** The load balancer's address of sample-service, or "" while it has none (or no Service). */
async function address(api: KubernetesApi): Promise<string> {
    const s = await api.get(`${NS}/services/sample-service`);
    const ingress = s?.status?.loadBalancer?.ingress?.[0];
    return ingress?.ip ?? ingress?.hostname ?? "";
}

export const serves = (port: number, page: "nginx" | "httpd"): Condition => async (api) => {
    const ip = await address(api);
    return ip !== "" && pageOf(await get(`http://${ip}:${port}/`, 1000)) === page;
};

export const readyBehindService = (n: number): Condition => async (api) => {
    const slices = await api.get(`/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=${encodeURIComponent("kubernetes.io/service-name=sample-service")}`);
    const ready = new Set<string>();
    for (const slice of slices?.items ?? []) {
        for (const e of slice.endpoints ?? []) {
            if (e.conditions?.ready === true) {
                ready.add(e.targetRef?.uid ?? e.addresses.join(","));
            }
        }
    }
    return ready.size === n;
};

export const portMoved = (from: number, to: number): Condition => async (api) => {
    if (!(await serves(to, "nginx")(api))) {
        return false;
    }
    return (await get(`http://${await address(api)}:${from}/`, 1000)).error === "ECONNREFUSED";
};

export const imageSwapped = (port: number, image: string): Condition => async (api) => {
    const pods = (await api.get(`${NS}/pods?${selector}`))?.items ?? [];
    if (pods.length === 0 || pods.some((p: any) => p.spec.containers[0].image !== image || p.metadata.deletionTimestamp)) {
        return false;
    }
    const ip = await address(api);
    for (let i = 0; i < 5; i++) {
        if (pageOf(await get(`http://${ip}:${port}/`, 1000)) !== "httpd") {
            return false;
        }
    }
    return true;
};

/** `lastAddress`: the address the app had (the Service is gone when this holds). */
export const gone = (lastAddress: () => string, port: number): Condition => async (api) => {
    for (const path of [`${NS}/pods?${selector}`, `${APPS}/deployments?${selector}`, `${APPS}/replicasets?${selector}`,
        `${NS}/services?${selector}`, `/apis/policy/v1/namespaces/default/poddisruptionbudgets?${selector}`]) {
        if (((await api.get(path))?.items ?? []).length > 0) {
            return false;
        }
    }
    return (await get(`http://${lastAddress()}:${port}/`, 1000)).error === "ECONNREFUSED";
};

/** A client for the workspace's cluster (its admin kubeconfig). */
export function clusterApi(kubeconfig: string): KubernetesApi {
    return kubernetesApi(fs.readFileSync(kubeconfig, "utf8"));
}

export { address };

/** Seconds from `t0` (hrtime) until `condition` holds, checked every 50 ms; throws after `timeoutS`. */
export async function until(api: KubernetesApi, t0: bigint, condition: Condition, what: string, timeoutS = 120): Promise<number> {
    const deadline = Date.now() + timeoutS * 1000;
    for (;;) {
        if (await condition(api).catch(() => false)) {
            return Number(process.hrtime.bigint() - t0) / 1e9;
        }
        if (Date.now() > deadline) {
            throw new Error(`${what}: not observed within ${timeoutS} s`);
        }
        await new Promise((r) => setTimeout(r, 50));
    }
}
