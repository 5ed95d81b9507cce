/** The confirmation: declined, confirmed, --yes, and no terminal to ask on. */
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

        it("no terminal and no --yes: refuses, creates nothing", async () => {
            const f = fake({ tty: false });
            assert.strictEqual(await main([], f.deps), 1);
            assert.deepStrictEqual(f.calls, ["aws sts get-caller-identity --output json"]);
            assert.match(f.out(), /test:aws: stdin is not a terminal, so nobody can answer: pass --yes to run unattended; nothing was created\./);
        });
    });
});
