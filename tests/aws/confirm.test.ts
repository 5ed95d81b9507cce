/** The confirmation: declined, confirmed, --yes, no terminal to ask on, and a dev stage the run could not clean up. */
import * as assert from "assert";
import { fake } from "./fakes";
import { main } from "./runner";

describe("npm run test:aws (without AWS)", () => {
    describe("the confirmation", () => {
        it("declined: creates nothing", async () => {
            for (const answer of ["n", "", "no thanks"]) {
                const f = fake({ tty: true, answer });
                assert.strictEqual(await main([], f.deps), 1);
                assert.deepStrictEqual(f.calls, ["aws sts get-caller-identity --output json", "ask Create these resources and run the tutorial on them? [y/N] "]);
                assert.match(f.out(), /test:aws: declined \(answer "[^"]*"\); nothing was created\./);
                assert.strictEqual(f.handlers, 0);
            }
        });

        it("confirmed with y or yes: creates the stack", async () => {
            for (const answer of ["y", "YES"]) {
                const f = fake({ tty: true, answer });
                assert.strictEqual(await main([], f.deps), 0);
                assert.ok(f.calls.includes("prepareWork new"));
            }
        });

        it("--yes: no question", async () => {
            const f = fake({ tty: true });
            assert.strictEqual(await main(["--yes"], f.deps), 0);
            assert.ok(!f.calls.some((c) => c.startsWith("ask")));
        });

        it("a dev stage with deletion protection on: refuses before it asks, creates nothing (its cleanup could not destroy the cluster)", async () => {
            const f = fake({ tty: true, answer: "y" });
            const read = f.deps.readFile;
            f.deps.readFile = (file) => (file.endsWith("Pulumi.dev.yaml") ? read(file)!.replace("    logTypes: []\n", "    logTypes: []\n    deletionProtection: true\n") : read(file));
            assert.strictEqual(await main([], f.deps), 1);
            assert.deepStrictEqual(f.calls, ["aws sts get-caller-identity --output json"]);
            assert.match(f.out(), /test:aws: Pulumi\.dev\.yaml sets cluster\.deletionProtection true: the run could not destroy the cluster it would make \(EKS and Pulumi's protect both refuse\), so it does not start; nothing was created\./);
        });

        it("no terminal and no --yes: refuses, creates nothing", async () => {
            const f = fake({ tty: false });
            assert.strictEqual(await main([], f.deps), 1);
            assert.deepStrictEqual(f.calls, ["aws sts get-caller-identity --output json"]);
            assert.match(f.out(), /test:aws: stdin is not a terminal, so nobody can answer: pass --yes to run unattended; nothing was created\./);
        });
    });
});
