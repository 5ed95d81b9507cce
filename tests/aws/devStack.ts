/**
 * What npm run test:aws needs from the project's settings: the dev stage (Pulumi.dev.yaml) as the program reads
 * it, in the terms of the plan and its cost, and the project's default image (dev sets none, so it is the one the
 * run sees first). The one file of tests/aws that reads the settings layer (stacks/): when that changes, only
 * this mapping does.
 */
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { DEFAULT_IMAGE } from "../../stacks/app";
import { readStack } from "../../stacks/stack";

/** The dev stage, as the plan and the cost estimate describe it. */
export interface DevStack {
    /** Pulumi.dev.yaml's own aws:region (the run sets the one it was given). */
    region: string;
    cluster: {
        /** Kubernetes minor version of the control plane and the nodes. */
        kubernetesVersion: string;
        /** The managed add-ons' versions, pinned per Kubernetes version (stacks/addonVersions.ts). */
        addonVersions: { vpcCni: string; coreDns: string; kubeProxy: string };
        /** The nodes' AMI type. */
        amiType: string;
        /** Nodes replaced at once in a node group update, and whether EKS repairs unhealthy nodes. */
        nodeUpdate: { maxUnavailable: number | string; autoRepair: boolean };
        /** EKS deletion protection and Pulumi's protect: a stack with it on cannot be destroyed by the run. */
        deletionProtection: boolean;
        /** EKS's support policy at the end of standard support. */
        supportType: "STANDARD" | "EXTENDED";
        instanceTypes: string[];
        desiredSize: number;
        minSize: number;
        maxSize: number;
        /** An existing VPC, used as it is (no VPC is made), and how many public subnets it has. */
        existingVpc?: { id: string; publicSubnets: number };
        /** Zones of the new VPC (a public and a private subnet each). */
        availabilityZones: number;
        /** NAT gateways of the new VPC; 0 with an existing VPC. */
        natGateways: number;
        endpointPublicAccess: boolean;
        endpointPrivateAccess: boolean;
        /** Kubernetes secrets: not encrypted, encrypted with a KMS key the stack makes, or with a given key. */
        secretsEncryption: "off" | "new key" | "given key";
        /** Control-plane log types sent to CloudWatch. */
        logTypes: string[];
    };
    app: {
        image: string;
        serviceType: string;
        port: number;
        /** The Service's AWS load balancer: a Classic one, or a Network Load Balancer. */
        loadBalancer: "classic" | "nlb";
    };
}

/** Pulumi.dev.yaml's settings as the program sees them (the keys of other namespaces, such as aws:region, apart). */
export function devStack(repo: string, readFile: (f: string) => string | undefined): DevStack {
    const text = readFile(path.join(repo, "Pulumi.dev.yaml"));
    if (text === undefined) {
        throw new Error(`cannot read ${path.join(repo, "Pulumi.dev.yaml")}`);
    }
    const config: Record<string, unknown> = parseYaml(text).config ?? {};
    const flat = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
    const stack = readStack(flat);
    if (stack.target.kind !== "eks") {
        throw new Error("the dev stage is not an EKS stage");
    }
    const c = stack.settings.cluster;
    const a = stack.settings;
    const addons = stack.target.args.addonVersions;
    if (addons === undefined) {
        throw new Error("the dev stage's cluster has no add-on versions");
    }
    // The image the program deploys: a plain string for a stage's own config (an Output only where a program makes one).
    const image = stack.app.args.image;
    if (typeof image !== "string") {
        throw new Error("the dev stage's image is not a plain string");
    }
    return {
        region: String(config["aws:region"] ?? ""),
        cluster: {
            kubernetesVersion: c.kubernetesVersion,
            addonVersions: addons,
            amiType: c.amiType,
            nodeUpdate: c.nodeUpdate,
            deletionProtection: c.deletionProtection,
            supportType: c.supportType,
            instanceTypes: c.instanceTypes,
            desiredSize: c.desiredSize,
            minSize: c.minSize,
            maxSize: c.maxSize,
            existingVpc: c.vpc ? { id: c.vpc.id, publicSubnets: c.vpc.publicSubnetIds.length } : undefined,
            availabilityZones: c.availabilityZones,
            natGateways: c.vpc ? 0 : c.natGateways === "Single" ? 1 : c.availabilityZones,
            endpointPublicAccess: c.endpointPublicAccess,
            endpointPrivateAccess: c.endpointPrivateAccess,
            secretsEncryption: !c.secretsEncryption ? "off" : c.kmsKeyArn ? "given key" : "new key",
            logTypes: c.logTypes,
        },
        app: { image, serviceType: a.serviceType, port: a.port, loadBalancer: a.loadBalancer.type === "nlb" ? "nlb" : "classic" },
    };
}

/** The image the program runs when a stack sets none (the first image of the tutorial's swap on AWS). */
export function projectDefaultImage(): string {
    return DEFAULT_IMAGE;
}
