/**
 * What the schemas say about every key, written out where people and the Pulumi CLI look for it: Pulumi.yaml's
 * `config:` block (type, default, description, for `pulumi config` and the CLI's own type check) and the table of
 * keys in docs/configuration.md. Both are generated from the schemas; a unit test fails when either is out of
 * date. After changing a schema:
 *
 *     npm run sync-config
 */
import * as fs from "fs";
import * as path from "path";
import { parseDocument, YAMLMap } from "yaml";
import { z } from "zod";
import { describeKey, isOptional, pulumiTypeOf, PulumiType, unwrap } from "./keys";
import { KEYS, PARTS } from "./stack";

/** One key or nested setting, as the docs list it. */
export interface KeyDoc {
    /** `replicas`, `cluster.desiredSize`, `cluster.access[].principalArn` */
    path: string;
    part: string;
    type: PulumiType;
    default?: unknown;
    accepted?: string;
    description: string;
}

const shapeOf = (s: z.ZodType) => (unwrap(s) as unknown as { _zod: { def: { type: string; shape?: Record<string, z.ZodType>; element?: z.ZodType } } })._zod.def;

/** Every key and every setting inside structured keys, in schema order. */
export function keyDocs(): KeyDoc[] {
    const docs: KeyDoc[] = [];
    const visit = (part: string, keyPath: string, schema: z.ZodType) => {
        const d = describeKey(schema);
        docs.push({ path: keyPath, part, type: pulumiTypeOf(schema), default: d.default, accepted: d.accepted, description: d.description ?? "" });
        const def = shapeOf(schema);
        const element = def.type === "array" && def.element && shapeOf(def.element).type === "object" ? def.element : undefined;
        const fields = def.type === "object" ? def.shape : element ? shapeOf(element).shape : undefined;
        for (const [name, field] of Object.entries(fields ?? {})) {
            visit(part, `${keyPath}${element ? "[]" : ""}.${name}`, field);
        }
    };
    for (const [part, keys] of Object.entries(PARTS)) {
        for (const [key, schema] of Object.entries(keys as Record<string, z.ZodType>)) {
            visit(part, key, schema);
        }
    }
    return docs;
}

const shown = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));

/** A key's Pulumi.yaml description: what it does, what it accepts, and for structured keys each setting with its default. */
function pulumiDescription(key: KeyDoc, nested: KeyDoc[]): string {
    const parts = [key.description];
    if (key.type !== "object" && key.accepted) {
        parts.push(`Accepts ${key.accepted}.`);
    }
    if (nested.length > 0) {
        parts.push("Settings: " + nested.map((n) => `${n.path.slice(key.path.length + 1)}` +
            `${n.default !== undefined && n.type !== "object" ? ` (default ${shown(n.default)})` : ""}: ${n.description}` +
            `${n.accepted && n.type !== "object" ? ` Accepts ${n.accepted}.` : ""}`).join(" "));
    }
    return parts.join(" ");
}

/** Pulumi.yaml's `config:` block. */
export function pulumiConfigBlock(): Record<string, unknown> {
    const docs = keyDocs();
    const block: Record<string, unknown> = {
        // Every Kubernetes resource must name the cluster's provider; none may fall back to an ambient kubeconfig.
        "pulumi:disable-default-providers": { value: ["kubernetes"] },
    };
    for (const key of docs.filter((d) => !d.path.includes("."))) {
        const nested = docs.filter((d) => d.path.startsWith(`${key.path}.`));
        // Text-typed keys hold their default as text (pdbMaxUnavailable: "1"), as `pulumi config set` stores it; a key
        // that may be unset holds "" (the CLI requires a value for a declared key without a default).
        const fallback = key.default === undefined ? (isOptional(KEYS[key.path]) ? "" : undefined) : key.type === "string" ? String(key.default) : key.default;
        block[key.path] = {
            type: key.type,
            ...(fallback === undefined ? {} : { default: fallback }),
            description: pulumiDescription(key, nested),
        };
    }
    return block;
}

/** The table of keys in docs/configuration.md. */
export function keysTable(): string {
    const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    const rows = keyDocs().map((d) => `| \`${d.path}\` | ${d.default === undefined || d.type === "object" ? "" : `\`${cell(shown(d.default))}\``} | ` +
        `${cell(d.accepted ?? "")} | ${cell(d.description)} |`);
    return ["| key | default | accepts | what it does |", "|---|---|---|---|", ...rows].join("\n");
}

const ROOT = path.resolve(__dirname, "..");
export const PULUMI_YAML = path.join(ROOT, "Pulumi.yaml");
export const CONFIG_DOC = path.join(ROOT, "docs", "configuration.md");
const TABLE_START = "<!-- keys:start (npm run sync-config writes this table from stacks/) -->";
const TABLE_END = "<!-- keys:end -->";

/** Pulumi.yaml's text with its `config:` block as the schemas give it (the rest, comments included, as it was). */
export function syncedPulumiYaml(text: string): string {
    const doc = parseDocument(text);
    const block = doc.createNode(pulumiConfigBlock()) as YAMLMap;
    block.commentBefore = " Generated from the schemas in stacks/ (npm run sync-config): change a key there, not here.";
    doc.set("config", block);
    return doc.toString({ lineWidth: 0 });
}

/** docs/configuration.md's text with its table of keys as the schemas give it. */
export function syncedConfigDoc(text: string): string {
    const start = text.indexOf(TABLE_START);
    const end = text.indexOf(TABLE_END);
    if (start < 0 || end < start) {
        throw new Error(`${CONFIG_DOC} has no ${TABLE_START} ... ${TABLE_END} markers`);
    }
    return `${text.slice(0, start + TABLE_START.length)}\n${keysTable()}\n${text.slice(end)}`;
}

if (require.main === module && process.argv.includes("--write")) {
    for (const [file, sync] of [[PULUMI_YAML, syncedPulumiYaml], [CONFIG_DOC, syncedConfigDoc]] as const) {
        const before = fs.readFileSync(file, "utf8");
        const after = sync(before);
        fs.writeFileSync(file, after);
        console.log(`${path.relative(ROOT, file)}: ${before === after ? "up to date" : "updated"}`);
    }
}
