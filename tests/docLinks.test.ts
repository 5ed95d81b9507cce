import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

/**
 * Every relative link in the repository's Markdown files points at a file of the repository, and a `#fragment`
 * at a heading of that file (GitHub's anchors); no link leaves the repository through `..`.
 */
const ROOT = path.resolve(__dirname, "..");

/** Tracked and new (not ignored) Markdown files, as paths from the root. */
function markdownFiles(): string[] {
    const out = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "*.md"], { cwd: ROOT, encoding: "utf8" });
    return out.split("\n").filter((f) => f && !f.startsWith(".ci/") && fs.existsSync(path.join(ROOT, f)));
}

/** The text outside fenced code blocks. */
function withoutFences(text: string): string {
    return text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
}

/** The text outside code blocks and inline code, where a link is a link. */
function prose(text: string): string {
    return withoutFences(text).replace(/`[^`\n]*`/g, "");
}

/** GitHub's anchor for a heading: lowercased, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(text: string): Set<string> {
    const seen = new Map<string, number>();
    const anchors = new Set<string>();
    for (const m of withoutFences(text).replace(/`([^`\n]*)`/g, "$1").matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
        const base = m[1].replace(/\[([^\]]*)\]\([^)]*\)/g, "$1").toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "").replace(/ /g, "-");
        const n = seen.get(base) ?? 0;
        seen.set(base, n + 1);
        anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    return anchors;
}

interface Link { file: string; target: string }

function linksOf(file: string): Link[] {
    const text = prose(fs.readFileSync(path.join(ROOT, file), "utf8"));
    const targets = [
        ...[...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]),
        ...[...text.matchAll(/^\s*\[[^\]]+\]:\s*(\S+)/gm)].map((m) => m[1]),
        ...[...text.matchAll(/<(?:img|a)\s[^>]*(?:src|href)="([^"]+)"/g)].map((m) => m[1]),
    ];
    return targets.filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t)).map((target) => ({ file, target }));
}

function problem({ file, target }: Link): string | undefined {
    const [rel, fragment] = target.split("#", 2) as [string, string | undefined];
    const resolved = rel === "" ? path.join(ROOT, file) : path.resolve(ROOT, path.dirname(file), decodeURIComponent(rel));
    if (path.relative(ROOT, resolved).startsWith("..")) {
        return "leaves the repository";
    }
    if (!fs.existsSync(resolved)) {
        return "no such file";
    }
    if (fragment !== undefined && resolved.endsWith(".md") && !anchorsOf(fs.readFileSync(resolved, "utf8")).has(fragment)) {
        return `no heading #${fragment} in ${path.relative(ROOT, resolved)}`;
    }
    return undefined;
}

describe("links in the Markdown files", () => {
    it("finds README.md and the docs", () => {
        const files = markdownFiles();
        assert.ok(files.includes("README.md") && files.some((f) => f.startsWith("docs/")), files.join(", "));
    });

    it("resolve: every relative link names a file of the repository, and its #fragment a heading there", () => {
        const broken = markdownFiles().flatMap(linksOf).map((l) => ({ l, why: problem(l) })).filter((x) => x.why)
            .map(({ l, why }) => `${l.file}: (${l.target}) ${why}`);
        assert.deepStrictEqual(broken, []);
    });

    it("computes GitHub's anchors", () => {
        assert.deepStrictEqual([...anchorsOf("# A `b` c\n## What this says, and what was cut\n## A b c\n```\n# not\n```\n")],
            ["a-b-c", "what-this-says-and-what-was-cut", "a-b-c-1"]);
    });
});
