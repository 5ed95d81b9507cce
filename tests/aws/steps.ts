/**
 * The tutorial's steps (tests/e2e/tutorial.ts, the same list the embedded cluster runs) on a stack in AWS. Started
 * by tests/aws/main.ts in a process of its own, in the project copy EKS_NGINX_E2E_WORK names, on the stack
 * TEST_AWS_STACK that the runner created; the runner destroys and removes it afterwards, whatever happens here.
 *
 * Stops at the first failed step (each builds on the one before, and every minute costs money), and after the
 * current command on SIGINT/SIGTERM/SIGHUP (the runner sends SIGINT to this process and to the pulumi CLI it runs,
 * which then cancels gracefully). Its progress goes to steps.json in the project copy, for the runner.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { mustSucceed } from "../../harness/pulumiCommand";
import { createWorkspace } from "../../harness/workspace";
import { stepTools } from "../e2e/tools";
import { TutorialTarget, tutorialSteps } from "../e2e/tutorial";
import { projectDefaultImage } from "./devStack";
import { HTTPD_IMAGE } from "./plan";
import { awsRefused, ELB_HOSTNAME, elbNameOf, firstOk, waitForAnswer } from "./target";

const stack = process.env.TEST_AWS_STACK ?? "";
const region = process.env.AWS_REGION ?? "";
const dnsTimeoutMs = Number(process.env.TEST_AWS_DNS_TIMEOUT ?? "300") * 1000;
if (!process.env.EKS_NGINX_E2E_WORK || !stack || !region) {
    console.error("tests/aws/steps.ts runs under npm run test:aws (EKS_NGINX_E2E_WORK, TEST_AWS_STACK and AWS_REGION unset)");
    process.exit(2);
}

// The workspace's environment is the embedded cluster's; here it is the runner's state backend, passphrase and the
// stack's kubeconfig.
const ws = createWorkspace(process.env.EKS_NGINX_E2E_WORK);
const work = ws.dir;
const { env } = ws;
env.PULUMI_BACKEND_URL = process.env.PULUMI_BACKEND_URL;
for (const name of ["PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "EKS_NGINX_PASSPHRASE_KEY_CACHE"]) {
    if (process.env[name]) {
        env[name] = process.env[name];
    } else {
        delete env[name];
    }
}
delete env.CLUSTER_DIR;
const kubeconfig = path.join(work, "kubeconfig");
ws.kubeconfig = kubeconfig;
env.KUBECONFIG = kubeconfig;
const tools = stepTools(ws);
const { check, counts, log, pulumi, pulumiStdout, stackResources, step } = tools;

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
        if (!stopping) {
            log(`${signal}: no further step; the current one ends when its command does`);
        }
        stopping = true;
    });
}

const record: { stack: string; passed: number; failed: number; notRun: number; total: number; loadBalancer?: string; clusterName?: string } =
    { stack, passed: 0, failed: 0, notRun: 0, total: 0 };
const save = () => fs.writeFileSync(path.join(work, "steps.json"), `${JSON.stringify(record, null, 2)}\n`);

/** `aws <args>` in the stack's region: exit status and the error text. */
function aws(...args: string[]): { code: number; out: string; err: string } {
    const r = spawnSync("aws", [...args, "--region", region, "--output", "json"], { env, encoding: "utf8", timeout: 60_000 });
    return { code: r.status ?? -1, out: r.stdout ?? "", err: (r.stderr ?? "") || (r.error?.message ?? "") };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const target: TutorialTarget = {
    images: { nginx: projectDefaultImage(), httpd: HTTPD_IMAGE },
    address: {
        of: (ingress) => ingress.hostname ?? "",
        expected: ELB_HOSTNAME,
        description: "<name>-<number>.<region>.elb.amazonaws.com, a Classic Load Balancer's hostname",
    },
    connect: () => {
        // Written where only this user can read it; the file goes with the project copy.
        fs.writeFileSync(kubeconfig, pulumiStdout("stack", "output", "kubeconfig", "--show-secrets"), { mode: 0o600 });
        fs.chmodSync(kubeconfig, 0o600);
        record.clusterName = pulumiStdout("stack", "output", "clusterName");
        const url = pulumiStdout("stack", "output", "url");
        const host = URL.canParse(url) ? new URL(url).hostname : "";
        record.loadBalancer = ELB_HOSTNAME.test(host) ? host : undefined;
        save();
        log(`EKS cluster ${record.clusterName}; kubeconfig in ${kubeconfig} (mode 600); load balancer ${host || "none yet"}`);
    },
    firstAnswer: async (url) => {
        const t0 = Date.now();
        const a = await waitForAnswer(url, firstOk, { timeoutMs: dnsTimeoutMs, log, stopped: () => stopping });
        log(`${url}: ${a.status ? `HTTP ${a.status}` : a.error} after ${((Date.now() - t0) / 1000).toFixed(0)} s (DNS and listener; at most ${dnsTimeoutMs / 1000} s)`);
        return a;
    },
    refused: awsRefused,
    // readinessCheck is api on EKS: the Classic Load Balancer's listeners change after up returns.
    servesWhenUpReturns: false,
    lastAnswer: (url) => waitForAnswer(url, awsRefused, { timeoutMs: 120_000, log, stopped: () => stopping }),
    afterDestroy: async () => {
        const ofCluster = stackResources().filter((r) => /^(aws|awsx|eks|kubernetes):/.test(r.type));
        check("nothing of the cluster, its VPC or the app left in the stack", ofCluster.length === 0, ofCluster.map((r) => r.type));
        const cluster = record.clusterName ? aws("eks", "describe-cluster", "--name", record.clusterName) : undefined;
        check(`EKS cluster ${record.clusterName ?? "?"} gone (aws eks describe-cluster)`,
            cluster !== undefined && cluster.code !== 0 && /ResourceNotFoundException/.test(cluster.err), cluster ? cluster.err.trim() || "still there" : "no name");
        // The load balancer is Kubernetes', not Pulumi's: the Service's deletion waits for it, which this confirms.
        const name = record.loadBalancer ? elbNameOf(record.loadBalancer) : undefined;
        let lb = name ? aws("elb", "describe-load-balancers", "--load-balancer-names", name) : undefined;
        for (let i = 0; lb && lb.code === 0 && i < 6; i++) {
            await sleep(10_000);
            lb = aws("elb", "describe-load-balancers", "--load-balancer-names", name!);
        }
        check(`load balancer ${name ?? "?"} gone (aws elb describe-load-balancers)`, lb !== undefined && lb.code !== 0 && /LoadBalancerNotFound/.test(lb.err),
            lb ? lb.err.trim() || "still there" : "no name");
    },
};

const steps = tutorialSteps(target, tools);
record.total = steps.length;
save();
(async () => {
    console.log(`test:aws steps on stack ${stack} in ${region}; project copy in ${work}`);
    mustSucceed(pulumi(["stack", "select", stack]));
    for (const s of steps) {
        if (stopping || counts().failed > 0) {
            console.log(`\n[not run] ${s.title}`);
            record.notRun++;
            save();
            continue;
        }
        await step(s.title, s.run);
        Object.assign(record, counts());
        save();
    }
})()
    .catch((e) => console.log(`FAIL ${(e as Error).message}`))
    .finally(() => {
        const { passed, failed } = counts();
        console.log(`\ntest:aws steps: ${passed} passed, ${failed} failed${record.notRun ? `, ${record.notRun} not run` : ""}`);
        process.exitCode = failed === 0 && record.notRun === 0 && passed === steps.length ? 0 : 1;
    });
