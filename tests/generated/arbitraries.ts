/**
 * Valid and invalid values of every stack setting, drawn from its schema: the JSON Schema that zod gives for it
 * (types, bounds, enums, required fields, list lengths) and, for strings, the `format` the schema records
 * (stacks/keys.ts). Creates nothing on import.
 */
import * as fc from "fast-check";
import * as ipaddr from "ipaddr.js";
import { INSTANCE_ENI_LIMITS } from "../../stacks/podCapacity";

/** The parts of a JSON Schema node read here. */
export interface Node {
    type?: string | string[];
    format?: string;
    accepted?: string;
    enum?: string[];
    minimum?: number;
    maximum?: number;
    minItems?: number;
    maxLength?: number;
    items?: Node;
    properties?: Record<string, Node>;
    required?: string[];
    additionalProperties?: Node | boolean;
    default?: unknown;
}

/** A leaf of a setting: its path below the key, and its schema node. */
export interface Leaf {
    path: (string | number)[];
    node: Node;
}

/** Long near-misses: a valid-looking run of `unit` repeated up to `n` times, then a character that breaks it. */
const nearMiss = (unit: string, breaker: string) =>
    fc.integer({ min: 1, max: 20_000 }).map((n) => unit.repeat(Math.ceil(n / unit.length)) + breaker);

const hex = (min: number, max: number) => fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: min, maxLength: max });
const pathComponent = fc.stringMatching(/^[a-z0-9]{1,8}([._-][a-z0-9]{1,8}){0,2}$/);

/** Valid values of each string format. */
const VALID: Record<string, fc.Arbitrary<unknown>> = {
    "dns-label": fc.stringMatching(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/),
    "app-name": fc.oneof(fc.stringMatching(/^[a-z]([-a-z0-9]{0,53}[a-z0-9])?$/), fc.stringMatching(/^[a-z]([-a-z0-9]{0,53}[a-z0-9])?$/).map((s) => `${s}-app`)),
    image: fc.tuple(
        fc.constantFrom("", "registry.example.com/", "localhost:5000/", "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/", "[::1]:5000/"),
        fc.array(pathComponent, { minLength: 1, maxLength: 3 }),
        fc.option(fc.stringMatching(/^\w[\w.-]{0,20}$/), { nil: undefined }),
        fc.option(hex(64, 64), { nil: undefined }),
    ).map(([domain, path, tag, digest]) => `${domain}${path.join("/")}${tag === undefined ? "" : `:${tag}`}${digest === undefined ? "" : `@sha256:${digest}`}`),
    quantity: fc.tuple(fc.integer({ min: 0, max: 100_000 }), fc.constantFrom("", "m", "k", "M", "G", "Ki", "Mi", "Gi"), fc.boolean())
        .map(([n, unit, half]) => `${n}${half ? ".5" : ""}${unit}`),
    cidr: fc.oneof(ipv4Cidr(), ipv6Cidr()),
    "ipv4-cidr": ipv4Cidr(),
    "ssh-public-key": fc.tuple(fc.constantFrom("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256"), fc.base64String({ minLength: 4, maxLength: 400 }),
        fc.option(fc.stringMatching(/^[a-z]+@[a-z]+$/), { nil: undefined }))
        .filter(([, key]) => key.length > 0 && !key.startsWith("="))
        .map(([type, key, comment]) => `${type} ${key}${comment ? ` ${comment}` : ""}`),
    "iam-principal-arn": fc.tuple(fc.constantFrom("aws", "aws-cn", "aws-us-gov"), fc.stringMatching(/^[0-9]{12}$/), fc.constantFrom("role", "user"),
        fc.array(fc.stringMatching(/^[\w+=,.@-]{1,12}$/), { maxLength: 3 }), fc.stringMatching(/^[\w+=,.@-]{1,64}$/))
        .map(([partition, account, kind, path, name]) => `arn:${partition}:iam::${account}:${kind}/${[...path, name].join("/")}`),
    "kms-key-arn": fc.tuple(fc.constantFrom("eu-west-1", "ap-northeast-1"), fc.stringMatching(/^[0-9]{12}$/), fc.uuid())
        .map(([region, account, id]) => `arn:aws:kms:${region}:${account}:key/${id}`),
    "instance-type": fc.constantFrom(...Object.keys(INSTANCE_ENI_LIMITS)),
    "vpc-id": hex(8, 17).map((h) => `vpc-${h}`),
    "subnet-id": hex(8, 17).map((h) => `subnet-${h}`),
    "int-or-percent": fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 100 }).map((p) => `${p}%`)),
    "positive-int-or-percent": fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 100 }).map((p) => `${p}%`)),
    "cluster-identifier": fc.string({ minLength: 1, maxLength: 253 }).filter((s) => s.trim() !== ""),
    // A node group's maxUnavailable: EKS takes a count or a percentage, each from 1 to 100.
    "node-max-unavailable": fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 100 }).map((p) => `${p}%`)),
};

/** Invalid values of each string format (never "", which a key that may be unset takes as unset). */
const INVALID: Record<string, fc.Arbitrary<unknown>> = {
    "dns-label": fc.oneof(fc.constantFrom("Prod", "web_app", "-web", "web-", "1web", "a".repeat(64), "wéb", "web app"), nearMiss("a-", "_")),
    "app-name": fc.oneof(fc.stringMatching(/^[a-z][a-z0-9]{55,62}$/), fc.stringMatching(/^[a-z][a-z0-9]{55,58}$/).map((s) => `${s}-app`),
        fc.constantFrom("Sample_App", "-app", "sample-", "9lives"), nearMiss("a", "!")),
    image: fc.oneof((VALID.image as fc.Arbitrary<string>).map((i) => `${i} `), (VALID.image as fc.Arbitrary<string>).map((i) => `${i}$`), fc.constantFrom("NGINX:1.27", "nginx:", "nginx 1.27",
        "nginx@sha256:abc", " ", "a//b", "nginx:tag:tag"), nearMiss("a", "$"), nearMiss("a-", " "), nearMiss("registry.example.com/", " ")),
    quantity: fc.oneof(fc.constantFrom("lots", "1.5.2", "-1", "1Kb", "1 Mi", "1e", "m", " "), nearMiss("1", "x")),
    cidr: fc.oneof(fc.constantFrom("0.0.0.0/0", "::/0", "office", "10.0.0.0/33", "10.0.0.0", "203.0.113.7/24", "2001:db8::1/32"), nearMiss("1", "/")),
    "ipv4-cidr": fc.oneof(fc.constantFrom("2001:db8::/32", "10.0.0.1/8", "office"), nearMiss("1.", "/8")),
    "ssh-public-key": fc.oneof(fc.constantFrom("-----BEGIN PRIVATE KEY-----", "ssh-dss AAAAB3", "ssh-ed25519", "AAAAC3NzaC1lZDI1NTE5"), nearMiss("ssh-ed25519 ", "\n")),
    "iam-principal-arn": fc.oneof(fc.constantFrom("alice", "arn:aws:iam::123456789012:role/*", "arn:aws:sts::123456789012:assumed-role/a/b",
        "arn:aws:iam::123456789012:group/devs", "arn:aws:iam::12345:role/admins"), nearMiss("arn:aws:iam::123456789012:role/a/", "*")),
    "kms-key-arn": fc.oneof(fc.constantFrom("alias/my-key", "arn:aws:kms:eu-west-1:1234:key/x"), nearMiss("arn:aws:kms:", "!")),
    "instance-type": fc.constantFrom("big box", "T3.MEDIUM", ".large", "t3."),
    "vpc-id": fc.constantFrom("vpc-123", "VPC-0123456789abcdef0", "subnet-0123456789abcdef0"),
    "subnet-id": fc.constantFrom("subnet-123", "vpc-0123456789abcdef0", "subnet-XYZ12345"),
    "int-or-percent": fc.constantFrom("101%", "-1", "1e3", "9E1", "25 %", "abc", "1.5", "0x10", "%", 1.5, -3),
    "positive-int-or-percent": fc.constantFrom("0", "0%", 0, "101%", "1e3", "9E1", "abc", 2.5),
    "cluster-identifier": fc.oneof(fc.constantFrom(" ", "\t \n"), fc.integer({ min: 254, max: 20_000 }).map((n) => "a".repeat(n))),
    // Inside the cluster object a count is a number: "5" (text) is neither a count nor a percentage.
    "node-max-unavailable": fc.oneof(fc.constantFrom(0, "0%", 101, "101%", -1, 2.5, "5", "1e3", "25 %", "%", "abc", null, true, [], {}),
        fc.integer({ min: 101, max: 2 ** 31 - 1 }), fc.integer({ min: 101, max: 100_000 }).map((p) => `${p}%`), nearMiss("9", "%%")),
};

/** Formats whose values may be numbers: a wrong-typed value such as 7 could be a valid one, so only their own invalid values are drawn. */
const NUMERIC_FORMATS = new Set(["int-or-percent", "positive-int-or-percent", "node-max-unavailable"]);

function ipv4Cidr(): fc.Arbitrary<string> {
    return fc.tuple(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), fc.integer({ min: 1, max: 32 }))
        .map(([bytes, bits]) => ipaddr.IPv4.networkAddressFromCIDR(`${bytes.join(".")}/${bits}`).toString() + `/${bits}`);
}

function ipv6Cidr(): fc.Arbitrary<string> {
    return fc.tuple(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }), fc.integer({ min: 1, max: 128 }))
        .map(([parts, bits]) => `${ipaddr.IPv6.networkAddressFromCIDR(`${parts.map((p) => p.toString(16)).join(":")}/${bits}`).toString()}/${bits}`);
}

/** A valid value of a schema node. */
export function valid(node: Node): fc.Arbitrary<unknown> {
    if (node.format) {
        const arb = VALID[node.format];
        if (!arb) {
            throw new Error(`no valid values for format ${node.format}`);
        }
        return arb;
    }
    if (node.enum) {
        return fc.constantFrom(...node.enum);
    }
    switch (node.type) {
        case "integer":
            return fc.integer({ min: node.minimum ?? 0, max: Math.min(node.maximum ?? 1000, 2 ** 31 - 1) });
        case "boolean":
            return fc.boolean();
        case "array":
            return fc.array(valid(node.items!), { minLength: node.minItems ?? 0, maxLength: Math.max(node.minItems ?? 0, 3) });
        case "object": {
            if (node.properties) {
                const required = new Set(node.required ?? []);
                return fc.record(Object.fromEntries(Object.entries(node.properties).map(([k, v]) => [k, valid(v)])),
                    { requiredKeys: [...required] });
            }
            return fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), fc.string({ maxLength: 16 }), { maxKeys: 3 });
        }
        default:
            throw new Error(`no valid values for ${JSON.stringify(node).slice(0, 200)}`);
    }
}

/**
 * An invalid value of a leaf node (a value of the wrong type, out of range, or off its format). `flat`: the leaf
 * is a key of its own, whose value is text as `pulumi config set` stores it, so no other type can be given.
 */
export function invalid(node: Node, flat = false): fc.Arbitrary<unknown> {
    const wrongType = fc.constantFrom<unknown>(null, true, [], {}, 7);
    if (node.format) {
        return flat || NUMERIC_FORMATS.has(node.format) ? INVALID[node.format] : fc.oneof(INVALID[node.format], wrongType);
    }
    if (node.enum) {
        return fc.oneof(fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !node.enum!.includes(s)), fc.constantFrom(...node.enum).map((v) => v.toUpperCase() + " "), nearMiss("a", "b"));
    }
    switch (node.type) {
        case "integer":
            return fc.oneof(
                fc.integer({ min: (node.maximum ?? 1000) + 1, max: 2 ** 40 }),
                fc.integer({ min: -(2 ** 40), max: (node.minimum ?? 0) - 1 }),
                fc.double({ min: node.minimum ?? 0, max: node.maximum ?? 1000, noNaN: true }).filter((d) => !Number.isInteger(d)),
                fc.constantFrom("three", "1e3", "0x10", "", "5s", true, null, [1]),
                nearMiss("9", "x"),
            );
        case "boolean":
            return fc.constantFrom("yes", "on", 1, 0, "TRUE", null, [], "");
        case "array":
            return fc.constantFrom<unknown>("not a list", 3, { a: 1 });
        case "object":
            return fc.constantFrom<unknown>("not an object", 3, [], true);
        default:
            throw new Error(`no invalid values for ${JSON.stringify(node).slice(0, 200)}`);
    }
}

/** Every leaf of a node (and the node itself, for lists and objects: a wrong type there is a leaf too). */
export function leaves(node: Node, path: (string | number)[] = []): Leaf[] {
    const found: Leaf[] = [{ path, node }];
    if (node.format || node.enum) {
        return found;
    }
    if (node.type === "array" && node.items?.properties) {
        return [...found, ...leaves(node.items, [...path, 0])];
    }
    if (node.type === "array" && node.items) {
        return [...found, { path: [...path, 0], node: node.items }];
    }
    if (node.type === "object" && node.properties) {
        return [...found, ...Object.entries(node.properties).flatMap(([k, v]) => leaves(v, [...path, k]))];
    }
    return found;
}

/** A value of `root` with `value` at `path` (lists get one item), the rest left to the defaults except required fields. */
export function placed(root: Node, path: (string | number)[], value: unknown): fc.Arbitrary<unknown> {
    if (path.length === 0) {
        return fc.constant(value);
    }
    const [head, ...rest] = path;
    if (typeof head === "number") {
        return placed(root.items!, rest, value).map((item) => [item]);
    }
    const child = root.properties![head];
    const required = (root.required ?? []).filter((k) => k !== head);
    return fc.tuple(placed(child, rest, value), fc.record(Object.fromEntries(required.map((k) => [k, valid(root.properties![k])]))))
        .map(([v, others]) => ({ ...others, [head]: v }));
}
