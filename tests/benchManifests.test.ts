import * as assert from "assert";
import { parse as parseYaml } from "yaml";
import { tutorialFiles, tutorialYaml } from "../bench/tutorialYaml";
import { configMap, one, runProgram, stageConfig, writeTempKubeconfig } from "../harness/mocks";

/** A kubeconfig of a cluster that pulls from registries (the program's local stage with no embedded images). */
const KUBECONFIG = `apiVersion: v1
kind: Config
current-context: c
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:40125", insecure-skip-tls-verify: true}
contexts:
- name: c
  context: {cluster: c, user: u}
users:
- name: u
  user: {token: not-a-real-token}
`;
const IMAGE = "nginx:1.28.0";
/** Plain JSON: what the API server is sent (no undefined fields). */
const plain = (v: unknown) => JSON.parse(JSON.stringify(v));

// The bench's kubectl side applies bench/manifests/; its figures compare the tools only if both apply the same
// Deployment, Service and PodDisruptionBudget: the same probes, drain, resources, spread and rollout.
describe("the bench's manifests (kubectl) and the program's objects (pulumi)", () => {
    let yaml: Record<string, any>;
    before(async () => {
        await runProgram({ ...stageConfig("local"), ...configMap({ kubeconfig: writeTempKubeconfig(KUBECONFIG), replicas: 3, port: 8080, image: IMAGE }) });
        const container = one("kubernetes:apps/v1:Deployment").inputs.spec.template.spec.containers[0].name;
        yaml = Object.fromEntries(tutorialFiles(3).map((f) => [f, parseYaml(tutorialYaml(f, { replicas: 3, image: IMAGE, port: 8080, container }))]));
    });

    it("makes the same Deployment: replicas, rollout strategy and pod template", () => {
        const program = plain(one("kubernetes:apps/v1:Deployment").inputs);
        const manifest = yaml["deployment.yml"];
        // The program's annotations are for the provider (patchForce) and for who sets replicas (HPA or not).
        const { annotations, ...metadata } = program.metadata;
        assert.ok(annotations["pulumi.com/patchForce"]);
        assert.deepStrictEqual(manifest.metadata, metadata);
        assert.deepStrictEqual(manifest.spec, program.spec);
    });

    it("makes the same Service and PodDisruptionBudget", () => {
        const service = plain(one("kubernetes:core/v1:Service").inputs);
        const pdb = plain(one("kubernetes:policy/v1:PodDisruptionBudget").inputs);
        assert.deepStrictEqual(yaml["service.yml"].spec, service.spec);
        assert.deepStrictEqual(yaml["pdb.yml"].spec, pdb.spec);
    });
});
