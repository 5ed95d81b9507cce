/**
 * The one mocks helper of the unit suite and the bench: Pulumi mocks (installed by the first reset() or
 * runProgram(), never on import), a recorder of every registration, an Output unwrapper and a runner for the
 * whole program with a given stack config.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor, MockResourceArgs } from "@pulumi/pulumi/runtime/mocks";
import { parse as parseYaml } from "yaml";

export const PROJECT = "eks-nginx";
export const STACK = "test";
export const ROOT = path.resolve(__dirname, "..");

export interface Registration {
    type: string;
    name: string;
    inputs: Record<string, any>;
    provider?: string;
    custom?: boolean;
    /** URNs this resource depends on (dependsOn and the inputs' resources), as the engine receives them. */
    dependencies: string[];
    /** customTimeouts as the engine receives them ({create, update, pb_delete}), "" where unset. */
    customTimeouts?: { create: string; update: string; pb_delete: string };
    ignoreChanges: string[];
    replaceOnChanges: string[];
    deleteBeforeReplace: boolean;
    /** The protect option as the engine receives it: undefined where the program sets none. */
    protect?: boolean;
    /** Aliases as the engine receives them: a URN, or a spec whose empty fields mean "as the resource's own". */
    aliases: { urn?: string; spec?: { name: string; type: string; stack: string; project: string; parenturn: string; noparent: boolean } }[];
}

/** A self-signed CA certificate (not the key): kubeconfigs of the tests name it, so their cluster has an identity. */
export const TEST_CA_DATA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJrRENDQVRXZ0F3SUJBZ0lVRzQzcSs5TmhDemtQT0tQWFhEeXlrL2FCUS9Zd0NnWUlLb1pJemowRUF3SXcKSERFYU1CZ0dBMVVFQXd3UlpXdHpMVzVuYVc1NExYUmxjM1F0WTJFd0lCY05Nall4TWpBeE1UQTBOekkyV2hnUApNakV5TmpFeE1EY3hNRFEzTWpaYU1Cd3hHakFZQmdOVkJBTU1FV1ZyY3kxdVoybHVlQzEwWlhOMExXTmhNRmt3CkV3WUhLb1pJemowQ0FRWUlLb1pJemowREFRY0RRZ0FFWENXc0VIVXFlQlZzOTc1Ry93K2oyck8wVlZFd1lQczcKK29nN09zbTFsRW11SitMRXNPM2lIRURldXN3MzdNeU9zYWkzZ3FKalcySUJ3TURIUGU4cko2TlRNRkV3SFFZRApWUjBPQkJZRUZLa042N0NmVU8vcm5ONGNhVC9QZkNJcjg4YVFNQjhHQTFVZEl3UVlNQmFBRktrTjY3Q2ZVTy9yCm5ONGNhVC9QZkNJcjg4YVFNQThHQTFVZEV3RUIvd1FGTUFNQkFmOHdDZ1lJS29aSXpqMEVBd0lEU1FBd1JnSWgKQUkzbVRwc0RiU0YyU1ZjdjRpRGtnd2dIZUtDSFFHUFZDbmhhUGpIZ2N5cnBBaUVBc3hsL2crYmhMSFkrczVIcAo1eWVEaXA2VHhVWUVmZm1lZmNGM3ZYTDA5bHM9Ci0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K";
/** Its SHA-256 fingerprint, as the kubeconfig target's default clusterIdentifier takes it. */
export const TEST_CA_FINGERPRINT = "E6:5B:62:F2:42:A4:E4:05:57:61:6E:E6:10:90:6F:FE:CC:10:C6:DC:9B:B9:6C:0C:85:D9:EC:7A:33:23:5B:C2";

export const FAKE_KUBECONFIG = JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    "current-context": "aws",
    clusters: [{ name: "kubernetes", cluster: { server: "https://example.eks.amazonaws.com", "certificate-authority-data": TEST_CA_DATA } }],
    contexts: [{ name: "aws", context: { cluster: "kubernetes", user: "aws" } }],
    users: [{ name: "aws", user: { token: "not-a-real-token" } }],
});
export const LB_HOSTNAME = "a1b2c3-123456789.ap-northeast-1.elb.amazonaws.com";

/** Registrations since the last reset, in order. */
export const registrations: Registration[] = [];

/** What the engine would return: inputs, plus the outputs the program reads. */
function mockState(args: MockResourceArgs): Record<string, any> {
    const inputs = args.inputs;
    switch (args.type) {
        case "eks:index:Cluster":
            // eks v4 components are opaque in mocks: their children never register, so the mock answers for them.
            return { ...inputs, kubeconfigJson: FAKE_KUBECONFIG,
                eksCluster: { name: `${args.name}-1234567`, arn: `arn:aws:eks:ap-northeast-1:123456789012:cluster/${args.name}-1234567`,
                    vpcConfig: { clusterSecurityGroupId: "sg-0eks0managed0000" } } };
        case "awsx:ec2:Vpc":
            return { ...inputs, vpcId: "vpc-0new0000000000000",
                publicSubnetIds: ["subnet-0pub0000000000001", "subnet-0pub0000000000002"],
                privateSubnetIds: ["subnet-0prv0000000000001", "subnet-0prv0000000000002"] };
        case "aws:ec2/launchTemplate:LaunchTemplate":
            return { ...inputs, latestVersion: 1 };
        case "aws:iam/role:Role":
            return { ...inputs, name: `${args.name}-role`, arn: `arn:aws:iam::123456789012:role/${args.name}` };
        case "aws:kms/key:Key":
            return { ...inputs, arn: `arn:aws:kms:ap-northeast-1:123456789012:key/${args.name}` };
        case "aws:ec2/keyPair:KeyPair":
            return { ...inputs, keyName: `${args.name}-key` };
        case "kubernetes:apps/v1:Deployment":
            return { ...inputs, status: { readyReplicas: inputs.spec.replicas, availableReplicas: inputs.spec.replicas } };
        case "kubernetes:core/v1:Service": {
            const spec = { ...inputs.spec, clusterIP: "10.100.0.10",
                ports: inputs.spec.ports.map((p: any) => ({ ...p, nodePort: 31080 })) };
            const status = spec.type === "LoadBalancer" ? { loadBalancer: { ingress: [{ hostname: LB_HOSTNAME }] } } : {};
            return { ...inputs, spec, status };
        }
        default:
            return inputs;
    }
}

/** What MockResourceArgs does not carry, read off the registration requests by `type::name`. */
const requestOf = new Map<string, Pick<Registration,
    "dependencies" | "customTimeouts" | "ignoreChanges" | "replaceOnChanges" | "deleteBeforeReplace" | "protect" | "aliases">>();

let installed = false;

/** Installs the mocks and the registration recorder, once per process. */
export function useMocks(): void {
    if (installed) {
        return;
    }
    installed = true;
    void pulumi.runtime.setMocks({
        newResource(args) {
            registrations.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider, custom: args.custom,
                dependencies: [], ignoreChanges: [], replaceOnChanges: [], deleteBeforeReplace: false, aliases: [],
                ...requestOf.get(`${args.type}::${args.name}`) });
            return { id: args.custom ? `${args.name}-id` : undefined, state: mockState(args) };
        },
        call(args) {
            return args.inputs;
        },
    }, PROJECT, STACK, false);
    const m = monitor();
    const register = m.registerResource.bind(m);
    m.registerResource = (req: any, callback: any) => {
        requestOf.set(`${req.getType()}::${req.getName()}`, {
            dependencies: req.getDependenciesList(),
            customTimeouts: req.getCustomtimeouts()?.toObject(),
            ignoreChanges: req.getIgnorechangesList(),
            replaceOnChanges: req.getReplaceonchangesList(),
            deleteBeforeReplace: req.getDeletebeforereplace(),
            protect: req.hasProtect() ? req.getProtect() : undefined,
            aliases: req.getAliasesList().map((a: any) => a.toObject()),
        });
        return register(req, callback);
    };
}

function monitor(): MockMonitor {
    return pulumi.runtime.getMonitor() as unknown as MockMonitor;
}

/** URNs registered since the last reset; the URN's type chain shows each resource's parents. */
export function registeredUrns(): string[] {
    return [...monitor().resources.keys()];
}

/** The reference (`urn::id`) that resources bound to the one registered provider of this type carry. */
export function providerRef(type = "pulumi:providers:kubernetes"): string {
    const urns = registeredUrns().filter((u) => u.includes(`${type}::`));
    if (urns.length !== 1) {
        throw new Error(`expected one ${type}, found ${urns.length}`);
    }
    const name = urns[0].split("::").pop();
    return `${urns[0]}::${name}-id`;
}

/** Installs the mocks when needed and forgets every registration so far. */
export function reset(): void {
    useMocks();
    registrations.length = 0;
    requestOf.clear();
    monitor().resources.clear();
}

export function unwrap<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply(resolve));
}

const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** An input value as the engine receives it: a secret arrives wrapped in Pulumi's secret signature. */
export function asSecret(value: unknown): { secret: boolean; value: unknown } {
    if (value && typeof value === "object" && (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG_VALUE) {
        return { secret: true, value: (value as Record<string, unknown>).value };
    }
    return { secret: false, value };
}

export function ofType(type: string): Registration[] {
    return registrations.filter((r) => r.type === type);
}

export function one(type: string): Registration {
    const found = ofType(type);
    if (found.length !== 1) {
        throw new Error(`expected one ${type}, found ${found.length}: ${registrations.map((r) => r.type).join(", ")}`);
    }
    return found[0];
}

/** Stack config as `pulumi.runtime.allConfig()` gives it: full keys, objects as JSON. */
export function configMap(values: Record<string, unknown>): Record<string, string> {
    return Object.fromEntries(Object.entries(values).map(([k, v]) => [
        k.includes(":") ? k : `${PROJECT}:${k}`,
        typeof v === "string" ? v : JSON.stringify(v),
    ]));
}

/** The config a stage's program sees: Pulumi.yaml's defaults under the stage file's values, as the CLI merges them. */
export function stageConfig(stage: string): Record<string, string> {
    const project = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
    const stack = parseYaml(fs.readFileSync(path.join(ROOT, `Pulumi.${stage}.yaml`), "utf8"));
    const merged: Record<string, unknown> = {};
    for (const [key, decl] of Object.entries<any>(project.config)) {
        if (decl && typeof decl === "object" && "default" in decl) {
            merged[key] = decl.default;
        } else if (decl && typeof decl === "object" && "value" in decl) {
            merged[key] = decl.value;
        } else if (!(`${PROJECT}:${key}` in (stack.config ?? {}))) {
            // As the CLI does: a declared key without a default must be set by the stack.
            throw new Error(`Stack '${stage}' is missing configuration value '${key}'`);
        }
    }
    Object.assign(merged, stack.config);
    return configMap(merged);
}

let tempDir: string | undefined;

/** A kubeconfig file for local-stage runs, in a folder removed when the test process exits. */
export function writeTempKubeconfig(contents = FAKE_KUBECONFIG): string {
    if (tempDir === undefined) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eks-nginx-test-"));
        process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
        tempDir = dir;
    }
    const file = fs.mkdtempSync(path.join(tempDir, "kubeconfig-"));
    fs.writeFileSync(path.join(file, "config"), contents);
    return path.join(file, "config");
}

export interface ProgramOutputs {
    url: string;
    clusterName: string;
    kubeconfig: string;
    deploymentName: string;
    serviceName: string;
    readyReplicas: number;
    secret: Record<string, boolean>;
}

// Internal to the SDK (not in its typings): resolves when every pending registration has been answered.
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };

type Program = () => Promise<Record<string, pulumi.Output<any>>>;

/** Runs index.ts with the given config; resolves when all its outputs are known. */
export async function runProgram(config: Record<string, string>): Promise<ProgramOutputs> {
    reset();
    pulumi.runtime.setAllConfig(config);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const main: Program = require("../index");
    const outputs = await main();
    // Registrations that no stack output waits for (e.g. an autoscaler named after the Deployment) finish here.
    await waitForRPCs();
    const result: Record<string, unknown> = { secret: {} };
    for (const [key, value] of Object.entries(outputs)) {
        result[key] = await unwrap(value);
        (result.secret as Record<string, boolean>)[key] = await pulumi.isSecret(value);
    }
    return result as unknown as ProgramOutputs;
}

/** Runs the program expecting a config error; returns its message. */
export async function runProgramExpectingError(config: Record<string, string>): Promise<string> {
    try {
        await runProgram(config);
    } catch (e) {
        return (e as Error).message;
    }
    throw new Error("the program accepted a config it should have refused");
}
