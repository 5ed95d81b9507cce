/**
 * Generated input for every setting, drawn from its schema (tests/generated/arbitraries.ts): seeded, so a run
 * is reproducible (SETTINGS_SEED=<n> npm test -- --grep generated draws another set).
 * - every invalid value is refused, quickly, naming its key and what the key accepts, with nothing registered;
 * - every valid value is accepted and deploys under mocks, and the names it produces are names Kubernetes takes.
 */
import * as assert from "assert";
import * as fc from "fast-check";
import { z } from "zod";
import { quantityValue } from "../components/kubernetesFormats";
import { configMap, FAKE_KUBECONFIG, registrations, runProgram, runProgramExpectingError, stageConfig, writeTempKubeconfig } from "../harness/mocks";
import { StackConfigError } from "../stacks/problems";
import { KEYS, readStack } from "../stacks/stack";
import { invalid, Leaf, leaves, Node, placed, valid } from "./generated/arbitraries";

const SEED = Number(process.env.SETTINGS_SEED ?? 20261201);
const INVALID_PER_LEAF = 30;
const VALID_PER_LEAF = 4;
/** The longest any one check may take, on any input: milliseconds, with room for a busy machine's pauses. */
const MAX_CHECK_MS = 50;

/** Keys that name files or a target: tested with real files in validation.test.ts and program.local.test.ts. */
const NOT_GENERATED = new Set(["target", "kubeconfig", "kubeContext"]);
/** The stage a key is tried on: the EKS ones on dev, the rest on the local stage (no capacity limit). */
const EKS_KEYS = new Set(["cluster", "loadBalancer"]);

/**
 * What the other settings must be for a leaf's whole valid range to deploy (a rule relates it to them): keyed
 * by the leaf's path, merged into the leaf's key, plus flat keys.
 */
const CONTEXT: Record<string, { within?: Record<string, unknown>; flat?: Record<string, unknown> }> = {
    "autoscaling.minReplicas": { within: { enabled: true, maxReplicas: 1000 } },
    "autoscaling.maxReplicas": { within: { enabled: true, minReplicas: 1 } },
    "resources.requests.cpu": { within: { limits: { cpu: "1E" } } },
    "resources.requests.memory": { within: { limits: { memory: "1E" } } },
    "resources.limits.cpu": { within: { requests: { cpu: "0" } } },
    "resources.limits.memory": { within: { requests: { memory: "0" } } },
    "security.runAsUser": { within: { runAsNonRoot: true } },
    "cluster.minSize": { within: { desiredSize: 450, maxSize: 450 } },
    "cluster.desiredSize": { within: { minSize: 0, maxSize: 450 }, flat: { replicas: "0" } },
    "cluster.maxSize": { within: { minSize: 0, desiredSize: 1 }, flat: { replicas: "0" } },
    "cluster.maxPodsPerNode": { flat: { replicas: "0" } },
    "cluster.vpc.id": { within: { vpc: { publicSubnetIds: ["subnet-0aaa0000000000001", "subnet-0aaa0000000000002"] } } },
    "cluster.vpc.publicSubnetIds": { within: { vpc: { privateSubnetIds: ["subnet-0bbb0000000000001", "subnet-0bbb0000000000002"] } } },
    "cluster.vpc.privateSubnetIds": { within: { vpc: { publicSubnetIds: ["subnet-0aaa0000000000001", "subnet-0aaa0000000000002"] } } },
};

const DEFAULT_REQUESTS: Record<string, string> = { cpu: "50m", memory: "32Mi" };
const DEFAULT_LIMITS: Record<string, string> = { cpu: "250m", memory: "128Mi" };
const unique = (items: string[]) => new Set(items).size === items.length;

/**
 * Valid values that a rule between settings of the same key may still refuse, as the rule is documented: a
 * drawn value (the key's whole value) is kept when it keeps the rule.
 */
const CONSISTENT: Record<string, (v: any) => boolean> = {
    autoscaling: (v) => (v.minReplicas ?? 2) <= (v.maxReplicas ?? 5),
    resources: (v) => ["cpu", "memory"].every((r) =>
        quantityValue(v.requests?.[r] ?? DEFAULT_REQUESTS[r])! <= quantityValue(v.limits?.[r] ?? DEFAULT_LIMITS[r])!),
    security: (v) => v.runAsUser === undefined || v.runAsNonRoot === true,
    loadBalancer: (v) => !(v.allowInternet && (v.scheme === "internal" || v.sourceRanges !== undefined)),
    cluster: (v) => (!v.vpc || (v.vpc.publicSubnetIds?.length ?? 0) + (v.vpc.privateSubnetIds?.length ?? 0) >= 2) &&
        unique((v.access ?? []).map((a: any) => a.principalArn.toLowerCase())) &&
        (v.access ?? []).every((a: any) => a.namespaces === undefined || (a.namespaces.length > 0 && unique(a.namespaces))) &&
        // SSH is refused on Bottlerocket nodes, which run no SSH server unless their admin container is turned on.
        !(v.ssh !== undefined && v.amiType === "BOTTLEROCKET_x86_64"),
};

interface Case {
    key: string;
    leaf: Leaf;
    /** `cluster.access.0.principalArn` */
    name: string;
}

const cases: Case[] = Object.entries(KEYS).filter(([key]) => !NOT_GENERATED.has(key)).flatMap(([key, schema]) => {
    const node = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Node;
    // The whole `cluster` is a bundle of node-group rules; its leaves are drawn one by one.
    return leaves(node).filter((leaf) => !(key === "cluster" && leaf.path.length === 0))
        .map((leaf) => ({ key, leaf, name: [key, ...leaf.path].join(".") }));
});

const kubeconfig = () => writeTempKubeconfig(FAKE_KUBECONFIG);

/** The stack config with `value` at the case's leaf, on the case's stage. */
function configWith(c: Case, value: unknown, root: Node, file: string): fc.Arbitrary<Record<string, string>> {
    const ctx = CONTEXT[c.name.replace(/\.0\./g, ".").replace(/\.0$/, "")] ?? {};
    return placed(root, c.leaf.path, value).map((v) => {
        const within = ctx.within && v && typeof v === "object" && !Array.isArray(v) ? merge(ctx.within, v as Record<string, unknown>) : v;
        const stage = EKS_KEYS.has(c.key) ? stageConfig("dev") : { ...stageConfig("local"), ...configMap({ kubeconfig: file }) };
        const base = c.key === "cluster" ? JSON.parse(stage["eks-nginx:cluster"] ?? "{}") : {};
        return { ...stage, ...configMap({ ...ctx.flat, [c.key]: c.key === "cluster" ? merge(base, within as Record<string, unknown>) : within }) };
    });
}

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = { ...a };
    for (const [k, v] of Object.entries(b)) {
        const av = a[k];
        out[k] = av && v && typeof av === "object" && typeof v === "object" && !Array.isArray(av) && !Array.isArray(v)
            ? merge(av as Record<string, unknown>, v as Record<string, unknown>) : v;
    }
    return out;
}

/**
 * readStack on `config`: what it threw, and how long it took. A check slower than MAX_CHECK_MS is timed again, up
 * to three times, and the fastest counts: a pause of the machine (garbage collection, another process) slows one
 * run, a slow check every run.
 */
function timedCheck(config: Record<string, string>): { error: unknown; ms: number } {
    let error: unknown;
    let ms = Infinity;
    for (let run = 0; run < 3 && ms >= MAX_CHECK_MS; run++) {
        const t0 = performance.now();
        try {
            readStack(config, { env: {} });
            error = undefined;
        } catch (e) {
            error = e;
        }
        ms = Math.min(ms, performance.now() - t0);
    }
    return { error, ms };
}

/** The key a problem must name for a leaf: its path, with any list index. */
const keyPattern = (name: string) => new RegExp(`^${name.replace(/\./g, "\\.").replace(/\\\.0(?=\\\.|$)/g, "\\.\\d+")}(\\.|$)`);

const DNS_1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Every name and label of the Kubernetes objects registered is one the API server takes. */
function kubernetesNamesValid(): string[] {
    const bad: string[] = [];
    for (const r of registrations.filter((x) => x.type.startsWith("kubernetes:"))) {
        const m = r.inputs.metadata ?? {};
        const service = r.type === "kubernetes:core/v1:Service";
        if (!(service ? DNS_1035_LABEL.test(m.name) && m.name.length <= 63 : DNS_1123_SUBDOMAIN.test(m.name) && m.name.length <= 253)) {
            bad.push(`${r.type} name ${m.name}`);
        }
        if (!(DNS_1123_LABEL.test(m.namespace) && m.namespace.length <= 63)) {
            bad.push(`${r.type} namespace ${m.namespace}`);
        }
        for (const v of Object.values<string>(m.labels ?? {})) {
            if (!(LABEL_VALUE.test(v) && v.length <= 63)) {
                bad.push(`${r.type} label value ${v}`);
            }
        }
        for (const c of r.inputs.spec?.template?.spec?.containers ?? []) {
            if (!(DNS_1123_LABEL.test(c.name) && c.name.length <= 63)) {
                bad.push(`container name ${c.name}`);
            }
        }
    }
    return bad;
}

describe(`settings: generated input, seed ${SEED}`, function () {
    this.timeout(120_000);
    const stats = { invalid: 0, valid: 0, deployed: 0, slowest: 0, slowestOf: "" };
    const deployedKeys = new Set<string>();
    let file: string;
    before(() => {
        file = kubeconfig();
    });
    after(() => {
        console.log(`      ${cases.length} settings; ${stats.invalid} invalid values refused, ${stats.valid} valid accepted ` +
            `(${stats.deployed} deployed under mocks); slowest check ${stats.slowest.toFixed(1)} ms (${stats.slowestOf})`);
    });

    for (const c of cases) {
        it(`${c.name}: invalid values refused quickly, naming it; valid values deploy`, async () => {
            const root = z.toJSONSchema(KEYS[c.key], { io: "input", unrepresentable: "any" }) as Node;
            const named = keyPattern(c.name);
            const seed = SEED + [...c.name].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) | 0, 0);
            const bad = fc.sample(invalid(c.leaf.node, c.leaf.path.length === 0).chain((v) => configWith(c, v, root, file)), { numRuns: INVALID_PER_LEAF, seed });
            for (const config of bad) {
                const { error, ms } = timedCheck(config);
                if (ms > stats.slowest) {
                    Object.assign(stats, { slowest: ms, slowestOf: c.name });
                }
                const shown = config[`eks-nginx:${c.key}`]?.slice(0, 120);
                assert.ok(error instanceof StackConfigError, `${c.name}: accepted ${shown}`);
                const problem = error.problems.find((p) => named.test(p.key));
                assert.ok(problem, `${c.name}: ${shown} refused without naming it: ${error.message.slice(0, 300)}`);
                assert.ok(error.message.includes(`expected ${problem.expected}`) && problem.expected.length > 5, problem.expected);
                assert.ok(ms < MAX_CHECK_MS, `${c.name}: ${ms.toFixed(1)} ms for ${shown}`);
                // The program itself: refused before anything is registered.
                await runProgramExpectingError(config);
                assert.deepStrictEqual(registrations, []);
                stats.invalid++;
            }
            const consistent = CONSISTENT[c.key];
            const good = fc.sample(valid(c.leaf.node).chain((v) => configWith(c, v, root, file))
                .filter((config) => !consistent || consistent(JSON.parse(config[`eks-nginx:${c.key}`]))), { numRuns: VALID_PER_LEAF, seed });
            for (const [i, config] of good.entries()) {
                try {
                    readStack(config, { env: {} });
                } catch (e) {
                    assert.fail(`${c.name}: refused ${config[`eks-nginx:${c.key}`]?.slice(0, 200)}: ${(e as Error).message}`);
                }
                stats.valid++;
                // Deploying under mocks takes 10-100 ms (the EKS stage the most): two values of each app setting, and of
                // each EKS key's settings one per key (their arguments pass the EksCluster's own check in readStack).
                if (EKS_KEYS.has(c.key) ? !deployedKeys.has(c.key) : i < 2) {
                    deployedKeys.add(c.key);
                    await runProgram(config);
                    assert.deepStrictEqual(kubernetesNamesValid(), [], c.name);
                    stats.deployed++;
                }
            }
        });
    }
});
