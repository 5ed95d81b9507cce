/**
 * The plan npm run test:aws prints before it asks: what the dev stage creates in AWS, and what that costs while
 * it exists and per run, from a table of list prices (not looked up at run time).
 */
import { DevStack } from "./devStack";
import type { Identity } from "./preflight";

/** A run's wall time, for the cost estimate: pulumi up ~15-20 min, the checks ~5, pulumi destroy ~10-15. */
export const RUN_MINUTES = 35;
/** The images of the tutorial's swap on AWS: the project's default image (dev sets none), then the official httpd. */
export const HTTPD_IMAGE = "httpd:2.4";
/** USD on-demand list prices per region (Linux, as AWS's pricing pages gave them in 2025; not looked up at run time). */
export interface RegionPrices {
    instancePerHour: Record<string, number>;
    /** The control plane in standard support. */
    eksPerHour: number;
    /** The control plane in extended support (a version past its 14 months of standard support, with supportType EXTENDED). */
    eksExtendedPerHour: number;
    natPerHour: number;
    natPerGb: number;
    clbPerHour: number;
    nlbPerHour: number;
    lbPerGb: number;
    publicIpv4PerHour: number;
    gp3PerGbMonth: number;
    kmsKeyPerMonth: number;
}

export const PRICES_AS_OF = "AWS list prices as of 2025, not looked up at run time";
export const PRICES: Record<string, RegionPrices> = {
    "us-east-1": { instancePerHour: { "t2.micro": 0.0116 }, eksPerHour: 0.10, eksExtendedPerHour: 0.60, natPerHour: 0.045, natPerGb: 0.045, clbPerHour: 0.025,
        nlbPerHour: 0.0225, lbPerGb: 0.008, publicIpv4PerHour: 0.005, gp3PerGbMonth: 0.08, kmsKeyPerMonth: 1 },
    "eu-west-1": { instancePerHour: { "t2.micro": 0.0126 }, eksPerHour: 0.10, eksExtendedPerHour: 0.60, natPerHour: 0.048, natPerGb: 0.048, clbPerHour: 0.028,
        nlbPerHour: 0.0252, lbPerGb: 0.008, publicIpv4PerHour: 0.005, gp3PerGbMonth: 0.088, kmsKeyPerMonth: 1 },
    "ap-northeast-1": { instancePerHour: { "t2.micro": 0.0152 }, eksPerHour: 0.10, eksExtendedPerHour: 0.60, natPerHour: 0.062, natPerGb: 0.062, clbPerHour: 0.027,
        nlbPerHour: 0.0243, lbPerGb: 0.008, publicIpv4PerHour: 0.005, gp3PerGbMonth: 0.096, kmsKeyPerMonth: 1 },
};
/** The root volume of an EKS node (the AMI's default, as this program's launch template sets none). */
const NODE_VOLUME_GIB = 20;
const HOURS_PER_MONTH = 730;

export interface CostLine {
    what: string;
    perHour?: number;
    note?: string;
    /** Billed by the started hour (NAT gateway, load balancer), not by the second. */
    wholeHours?: boolean;
}

export interface Cost {
    /** The region whose prices are used (the chosen one, or us-east-1 when it is not in the table). */
    pricedAs: string;
    lines: CostLine[];
    perHour: number;
    perRun: number;
    /** Some item has no price in the table. */
    incomplete: boolean;
}

export function hourlyCost(region: string, dev: DevStack): Cost {
    const c = dev.cluster;
    const pricedAs = PRICES[region] ? region : "us-east-1";
    const p = PRICES[pricedAs];
    // A new cluster's version is in standard support: EXTENDED costs more only once the version has left it.
    const lines: CostLine[] = [{ what: "EKS control plane", perHour: p.eksPerHour,
        note: c.supportType === "EXTENDED" ? `in standard support; USD ${p.eksExtendedPerHour}/h once in extended support, which supportType EXTENDED allows` : undefined }];
    for (const type of c.instanceTypes.slice(0, 1)) {
        const each = p.instancePerHour[type];
        lines.push({ what: `${c.desiredSize} × ${type} nodes`, perHour: each === undefined ? undefined : each * c.desiredSize,
            note: each === undefined ? `no price for ${type} in the table` : `${each} each` });
    }
    const nats = c.natGateways;
    if (nats > 0) {
        lines.push({ what: `${nats} NAT gateway${nats > 1 ? "s" : ""}`, perHour: p.natPerHour * nats, wholeHours: true,
            note: `+ ${p.natPerGb}/GB processed; the nodes pull images through it, well under 1 GB` });
    }
    const lb = dev.app.loadBalancer === "nlb" ? "Network Load Balancer" : "Classic Load Balancer";
    lines.push({ what: lb, perHour: dev.app.loadBalancer === "nlb" ? p.nlbPerHour : p.clbPerHour, wholeHours: true,
        note: `+ ${p.lbPerGb}/GB; this run sends a few MB` });
    const zones = c.existingVpc ? c.existingVpc.publicSubnets : c.availabilityZones;
    const ips = nats + zones;
    lines.push({ what: `${ips} public IPv4 addresses`, perHour: p.publicIpv4PerHour * ips,
        note: `${nats ? `NAT gateway ${nats}, ` : ""}load balancer ${zones}` });
    lines.push({ what: `EBS: ${c.desiredSize} × ${NODE_VOLUME_GIB} GiB`, perHour: (p.gp3PerGbMonth * NODE_VOLUME_GIB * c.desiredSize) / HOURS_PER_MONTH,
        note: "the nodes' root volumes, at the gp3 price" });
    if (c.secretsEncryption === "new key") {
        lines.push({ what: "KMS key", perHour: p.kmsKeyPerMonth / HOURS_PER_MONTH, note: `USD ${p.kmsKeyPerMonth}/month, prorated` });
    }
    if (c.logTypes.length > 0) {
        lines.push({ what: `CloudWatch Logs (${c.logTypes.join(", ")})`, perHour: 0, note: "USD 0.50-0.76/GB ingested; a run sends a few MB" });
    }
    const perHour = lines.reduce((sum, l) => sum + (l.perHour ?? 0), 0);
    const hours = RUN_MINUTES / 60;
    const perRun = lines.reduce((sum, l) => sum + (l.perHour ?? 0) * (l.wholeHours ? Math.ceil(hours) : hours), 0);
    return { pricedAs, lines, perHour, perRun, incomplete: lines.some((l) => l.perHour === undefined) };
}

export interface PlanInput {
    stack: string;
    region: string;
    identity?: Identity;
    backend: string;
    workDir: string;
    dev: DevStack;
}

const usd = (n: number) => n.toFixed(3);

export function planText(p: PlanInput): string[] {
    const c = p.dev.cluster;
    const a = p.dev.app;
    const cost = hourlyCost(p.region, p.dev);
    const nats = c.natGateways;
    const account = p.identity ? `AWS account ${p.identity.account} as ${p.identity.arn}` : "the AWS account of your credentials";
    const lb = a.loadBalancer === "nlb" ? "a Network Load Balancer" : "a Classic Load Balancer";
    const out = [
        `test:aws will create, in ${account}, region ${p.region}:`,
        `  Pulumi stack  ${p.stack}: Pulumi.dev.yaml's settings, aws:region ${p.region}, tags stage=test-aws and test-stack=${p.stack}`,
        `  state         ${p.backend} (it outlives a crash, so that the stack can still be cleaned up)`,
        `  project copy  ${p.workDir} (removed when nothing is left)`,
        "resources (the dev stage):",
        c.existingVpc ? `  - no VPC: the existing ${c.existingVpc.id}`
            : `  - a VPC over ${c.availabilityZones} availability zones: ${c.availabilityZones} public and ${c.availabilityZones} private subnets, ` +
              `an internet gateway, ${nats} NAT gateway${nats > 1 ? "s" : ""} with Elastic IPs, route tables`,
        `  - an EKS control plane: Kubernetes ${c.kubernetesVersion} (${c.supportType === "STANDARD" ? "standard support: EKS upgrades it when that ends" :
            "extended support allowed when standard support ends"}), API authentication mode, ` +
            `${[c.endpointPublicAccess && "public", c.endpointPrivateAccess && "private"].filter(Boolean).join(" and ")} endpoint` +
            `${c.secretsEncryption !== "off" ? `, Kubernetes secrets encrypted with ${c.secretsEncryption === "given key" ? "the given KMS key" : "a new KMS key (yearly rotation)"}` : ""}; ` +
            `control-plane logs to CloudWatch: ${c.logTypes.length ? c.logTypes.join(", ") : "none (dev's cluster.logTypes is empty)"}; its add-ons ` +
            `VPC CNI ${c.addonVersions.vpcCni}, CoreDNS ${c.addonVersions.coreDns}, kube-proxy ${c.addonVersions.kubeProxy}; ` +
            `deletion protection ${c.deletionProtection ? "on" : "off, so that the run can destroy it"}`,
        `  - a managed node group: ${c.desiredSize} × ${c.instanceTypes.join("/")} (min ${c.minSize}, max ${c.maxSize}; no autoscaler runs, so ` +
            `${c.desiredSize} stay), ${c.amiType}, IMDSv2 required, ${c.nodeUpdate.maxUnavailable} node${c.nodeUpdate.maxUnavailable === 1 ? "" : "s"} ` +
            `at a time in an update, node auto repair ${c.nodeUpdate.autoRepair ? "on" : "off"}, with their EBS root volumes; ` +
            "IAM roles for the cluster and the nodes; security groups",
        `  - the app: Deployment sample-deployment (${a.image}, then ${HTTPD_IMAGE}), Service sample-service of type ${a.serviceType}: ` +
            `${lb} in the public subnets, open to every address on port ${a.port} (then 8080). Kubernetes' AWS cloud provider makes it, ` +
            "not Pulumi: the run checks that it is gone after destroy",
        `rough cost while it exists: USD, on-demand, ${cost.pricedAs === p.region ? p.region : `${cost.pricedAs}'s (${p.region} is not in the table: expect up to ~30% more)`}; ${PRICES_AS_OF}:`,
        ...cost.lines.map((l) => `  ${l.what.padEnd(32)} ${l.perHour === undefined ? "    ?  " : `${usd(l.perHour)}/h`}${l.note ? `  (${l.note})` : ""}`),
        `  ${"total".padEnd(32)} ${usd(cost.perHour)}/h${cost.incomplete ? " + the items without a price" : ""}`,
        `time: about ${RUN_MINUTES} minutes (pulumi up ~15-20, of which the EKS control plane ~10; the checks ~5; pulumi destroy ~10-15), so about ` +
            `USD ${cost.perRun.toFixed(2)} per run (NAT gateway and load-balancer hours are billed whole; a stack left running costs ` +
            `about USD ${(cost.perHour * 24).toFixed(2)} a day)`,
        c.secretsEncryption === "new key"
            ? "left after the run, by design: the KMS key, which AWS keeps scheduled for deletion for 30 days (disabled; at most USD 1)"
            : "left after the run, by design: nothing",
        "whatever happens (a failed step, an error, Ctrl-C), the run then destroys the stack, checks that it is empty, removes it, " +
            "and lists what it could not remove.",
    ];
    return out;
}

