/**
 * The kinds of value a stack setting takes, as zod schemas. Each kind carries, once, what it accepts: the same
 * text is its error message (what follows "expected" when a value is refused), its entry in Pulumi.yaml and the
 * configuration doc, and (with its `format`) what the generated-input tests draw values of. Every string kind
 * refuses over-long input first, so no check runs long on any input.
 */
import * as ipaddr from "ipaddr.js";
import { z } from "zod";
import { isDnsLabel } from "../components/kubernetesFormats";

/** What the stack settings record about a schema, besides its type: see {@link describeKey}. */
export interface KeyMeta {
    /** What a valid value is, as it follows "expected" in a message. */
    accepted?: string;
    /** The kind of string, for the generated-input tests: `dns-label`, `image`, `cidr`, ... */
    format?: string;
    /** What the setting does, for Pulumi.yaml and the configuration doc. */
    description?: string;
}

/** An integer from `min` to `max`. */
export function integer(min: number, max: number, accepted = `an integer from ${min} to ${max}`) {
    return z.number({ error: accepted }).int({ error: accepted }).min(min, { error: accepted }).max(max, { error: accepted })
        .meta({ accepted });
}

/** A number of seconds from `min` to `max`. */
export function seconds(min: number, max: number, note = "") {
    return integer(min, max, `a number of seconds from ${min} to ${max}${note}`);
}

/** One of a fixed list of strings. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T, accepted = `one of ${values.join(", ")}`) {
    return z.enum(values, { error: accepted }).meta({ accepted });
}

/** true or false; `what` says what it turns on. */
export function flag(what: string) {
    return z.boolean({ error: `true or false (${what})` }).meta({ accepted: "true or false" });
}

/**
 * A string of a given format: at most `maxLength` characters (checked first, so `test` never runs on longer
 * input), and `test` true.
 */
export function text(format: string, accepted: string, maxLength: number, test: (value: string) => boolean) {
    return z.string({ error: accepted })
        .max(maxLength, { error: accepted, abort: true })
        .refine(test, { error: accepted })
        .meta({ accepted, format });
}

/** A Kubernetes name: a DNS label. */
export function dnsLabel() {
    return text("dns-label", "a DNS label (lowercase letters, digits and '-', starting with a letter, at most 63)", 63, isDnsLabel);
}

/** Longest CIDR text: an IPv6 address with a prefix length. */
const MAX_CIDR_LENGTH = 43;

/** True for a network CIDR, IPv4 or IPv6, without host bits set (as AWS requires). */
export function isNetworkCidr(v: string): boolean {
    if (v.length > MAX_CIDR_LENGTH) {
        return false;
    }
    try {
        const [addr] = ipaddr.parseCIDR(v);
        const network = addr.kind() === "ipv4" ? ipaddr.IPv4.networkAddressFromCIDR(v) : ipaddr.IPv6.networkAddressFromCIDR(v);
        return network.toString() === addr.toString();
    } catch {
        return false;
    }
}

/** A network CIDR as `cidr` accepts it, that is not all addresses (/0). */
export function cidr(accepted: string, test: (v: string) => boolean = () => true) {
    return text("cidr", accepted, MAX_CIDR_LENGTH, (v) => isNetworkCidr(v) && !v.endsWith("/0") && test(v));
}

/** Integers up to Kubernetes' int32, or percentages: a Deployment's maxSurge/maxUnavailable, a PDB's maxUnavailable. */
export function intOrPercent(min: 0 | 1) {
    const accepted = min === 0
        ? "an integer ≥ 0 or a percentage from 0% to 100% such as 25%"
        : "an integer ≥ 1 or a percentage from 1% to 100% (0 would block every node drain)";
    const percent = min === 0 ? /^(0|[1-9][0-9]?|100)%$/ : /^([1-9][0-9]?|100)%$/;
    return z.union([z.number(), z.string()], { error: accepted })
        .refine((v) => (typeof v === "number" ? Number.isInteger(v) && v >= min && v <= 2 ** 31 - 1 : percent.test(v)), { error: accepted })
        .meta({ accepted, format: min === 0 ? "int-or-percent" : "positive-int-or-percent" });
}

/** A list of `item`s, at least `min` of them. */
export function list<T extends z.ZodType>(item: T, accepted: string, min?: { count: number; accepted: string }) {
    const schema = z.array(item, { error: accepted });
    return (min ? schema.min(min.count, { error: min.accepted }) : schema).meta({ accepted });
}

/**
 * An object of named settings, each with its own schema and default: a typo names the known settings, anything
 * else that is not an object says what is accepted. Unset (`{}`) means every setting at its default.
 */
export function settings<S extends z.ZodRawShape>(shape: S, accepted: string) {
    const known = Object.keys(shape).join(", ");
    return z.strictObject(shape, {
        error: (issue) => (issue.code === "unrecognized_keys" ? `no such setting; known settings here: ${known}` : accepted),
    }).meta({ accepted });
}

/** The Pulumi.yaml `type` of a setting: how `pulumi config set` stores it, and so how its text is read back. */
export type PulumiType = "string" | "integer" | "boolean" | "object" | "array";

/** The parts of a zod schema's definition read here (zod's own, not in its public typings). */
interface SchemaDef {
    type: string;
    innerType?: z.ZodType;
    in?: z.ZodType;
    defaultValue?: unknown;
}

/** The schema inside defaults, optionals and the like. */
export function unwrap(schema: z.ZodType): z.ZodType {
    let s = schema;
    for (let def = defOf(s); def.innerType ?? (def.type === "pipe" ? def.in : undefined); def = defOf(s)) {
        s = (def.innerType ?? def.in)!;
    }
    return s;
}

const defOf = (schema: z.ZodType): SchemaDef => (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;

export function pulumiTypeOf(schema: z.ZodType): PulumiType {
    switch (defOf(unwrap(schema)).type) {
        case "number":
            return "integer";
        case "boolean":
            return "boolean";
        case "object":
        case "record":
            return "object";
        case "array":
            return "array";
        default:
            // Strings, enums, and integer-or-percentage unions (stored as text: "25%", "1").
            return "string";
    }
}

/**
 * A stack config value as `pulumi.runtime.allConfig()` gives it (always text) in the setting's type: integers
 * and booleans only when they are written as such (so `1.5`, `1e3`, `0x10` stay text and are refused), objects
 * and lists as JSON.
 */
export function decode(schema: z.ZodType, raw: string): unknown {
    switch (pulumiTypeOf(schema)) {
        case "integer":
            return /^[+-]?[0-9]+$/.test(raw.trim()) ? Number(raw) : raw;
        case "boolean":
            return raw === "true" ? true : raw === "false" ? false : raw;
        case "object":
        case "array":
            try {
                return JSON.parse(raw);
            } catch {
                return raw;
            }
        default:
            return defOf(unwrap(schema)).type === "union" && /^[0-9]+$/.test(raw) ? Number(raw) : raw;
    }
}

/**
 * True for a key that may be unset. Pulumi.yaml declares it with the default "" (the CLI requires a value for a
 * declared key without a default), so an empty text means unset, whatever the key's type.
 */
export function isOptional(schema: z.ZodType): boolean {
    return defOf(schema).type === "optional";
}

/** The accepted text, format and description recorded on a schema or on what it wraps. */
export function describeKey(schema: z.ZodType): KeyMeta & { default?: unknown } {
    const found: KeyMeta & { default?: unknown } = {};
    let s: z.ZodType | undefined = schema;
    while (s) {
        const meta = z.globalRegistry.get(s) as KeyMeta | undefined;
        found.accepted ??= meta?.accepted;
        found.format ??= meta?.format;
        found.description ??= meta?.description ?? s.description;
        const def = defOf(s);
        if ((def.type === "default" || def.type === "prefault") && !("default" in found)) {
            found.default = def.defaultValue;
        }
        s = def.innerType ?? (def.type === "pipe" ? def.in : undefined);
    }
    return found;
}
