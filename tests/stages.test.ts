import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { CONFIG_DOC, PULUMI_YAML, syncedConfigDoc, syncedPulumiYaml } from "../stacks/projectConfig";
import { KEYS, readStack } from "../stacks/stack";
import { ROOT, runProgram, stageConfig, writeTempKubeconfig } from "../harness/mocks";

const STAGES = ["dev", "staging", "prod", "local"];
const project = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));

describe("stages and the project config schema", () => {
    it("has exactly the stage files it documents", () => {
        const files = fs.readdirSync(ROOT).filter((f) => /^Pulumi\.[a-z]+\.yaml$/.test(f)).sort();
        assert.deepStrictEqual(files, STAGES.map((s) => `Pulumi.${s}.yaml`).sort());
    });

    for (const stage of STAGES) {
        it(`loads and validates Pulumi.${stage}.yaml`, () => {
            const env = { KUBECONFIG: writeTempKubeconfig() };
            const s = readStack(stageConfig(stage), { env });
            assert.strictEqual(s.target.kind, stage === "local" ? "kubeconfig" : "eks");
        });
    }

    it("runs prod with at least 2 replicas across at least 2 nodes", () => {
        const s = readStack(stageConfig("prod"));
        assert.ok(s.app.args.replicas >= 2, `replicas ${s.app.args.replicas}`);
        assert.ok(s.target.kind === "eks" && s.target.args.minSize >= 2, "prod keeps at least 2 nodes");
    });

    it("deploys every EKS stage under mocks", async () => {
        for (const stage of ["dev", "staging", "prod"]) {
            const out = await runProgram(stageConfig(stage));
            assert.match(out.url, /^http:\/\/.+\.elb\.amazonaws\.com:80$/, stage);
        }
    });

    it("Pulumi.yaml's config block is the one the schemas give (npm run sync-config writes it)", () => {
        assert.strictEqual(fs.readFileSync(PULUMI_YAML, "utf8"), syncedPulumiYaml(fs.readFileSync(PULUMI_YAML, "utf8")),
            "Pulumi.yaml is out of date with stacks/: run npm run sync-config");
    });

    it("docs/configuration.md's table of keys is the one the schemas give (npm run sync-config writes it)", () => {
        assert.strictEqual(fs.readFileSync(CONFIG_DOC, "utf8"), syncedConfigDoc(fs.readFileSync(CONFIG_DOC, "utf8")),
            "docs/configuration.md is out of date with stacks/: run npm run sync-config");
    });

    it("declares every key the program reads, each with a type, a default and a description", () => {
        const declared = Object.keys(project.config).filter((k) => !k.includes(":"));
        assert.deepStrictEqual(declared, Object.keys(KEYS));
        for (const key of declared) {
            const decl = project.config[key];
            assert.ok(["string", "integer", "boolean", "object", "array"].includes(decl.type), `${key} has a type`);
            // The CLI refuses a stack without a value for a declared key that has no default.
            assert.ok("default" in decl, `${key} has a default`);
            assert.ok(typeof decl.description === "string" && decl.description.length > 20, `${key} has a description`);
        }
    });

    it("disables the default Kubernetes provider for every stack", () => {
        assert.deepStrictEqual(project.config["pulumi:disable-default-providers"], { value: ["kubernetes"] });
    });
});
