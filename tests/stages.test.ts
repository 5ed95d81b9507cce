import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { DEFAULTS, FLAT_KEYS, parseStackConfig } from "../stacks/config";
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
            const s = parseStackConfig(stageConfig(stage), { env });
            assert.strictEqual(s.target.kind, stage === "local" ? "kubeconfig" : "eks");
        });
    }

    it("runs prod with at least 2 replicas across at least 2 nodes", () => {
        const s = parseStackConfig(stageConfig("prod"));
        assert.ok(s.app.replicas >= 2, `replicas ${s.app.replicas}`);
        assert.ok(s.target.kind === "eks" && s.target.cluster.minSize >= 2, "prod keeps at least 2 nodes");
    });

    it("deploys every EKS stage under mocks", async () => {
        for (const stage of ["dev", "staging", "prod"]) {
            const out = await runProgram(stageConfig(stage));
            assert.match(out.url, /^http:\/\/.+\.elb\.amazonaws\.com:80$/, stage);
        }
    });

    it("documents every config key with a type and a description", () => {
        for (const [key, decl] of Object.entries<any>(project.config)) {
            if (key.includes(":")) {
                continue;
            }
            assert.ok(typeof decl.type === "string", `${key} has a type`);
            assert.ok(typeof decl.description === "string" && decl.description.length > 20, `${key} has a description`);
        }
    });

    it("declares every key the program reads, and no other", () => {
        assert.deepStrictEqual(Object.keys(project.config).filter((k) => !k.includes(":")).sort(), [...FLAT_KEYS].sort());
    });

    it("states the same defaults in Pulumi.yaml as the code", () => {
        const declared = Object.entries<any>(project.config).filter(([, d]) => "default" in d);
        assert.ok(declared.length >= 10);
        for (const [key, decl] of declared) {
            assert.deepStrictEqual(decl.default, (DEFAULTS as Record<string, unknown>)[key], key);
        }
    });

    it("disables the default Kubernetes provider for every stack", () => {
        assert.deepStrictEqual(project.config["pulumi:disable-default-providers"], { value: ["kubernetes"] });
    });
});
