/**
 * The run: the stack's creation, the steps, and the cleanup after a passed run, a failing step, an exception and a
 * signal, with a fake pulumi and aws recording the calls in order (tests/aws/fakes.ts).
 */
import * as assert from "assert";
import * as path from "path";
import { ROOT } from "../../harness/mocks";
import { StepsContext } from "./deps";
import { CLEANUP, CREATE, CREATED, CREDENTIALS, DESTROY, EXPORT, fail, fake, interruptible, LB, PASSED, STACK } from "./fakes";
import { main } from "./runner";

describe("npm run test:aws (without AWS)", () => {
    describe("the run and its cleanup (a fake pulumi and aws record the calls in order)", () => {
        it("passed: destroys, checks the stack and the load balancer are gone, removes the stack and the project copy", async () => {
            const f = fake();
            assert.strictEqual(await main(["--yes"], f.deps), 0);
            assert.deepStrictEqual(f.calls, [...CREATE, ...CLEANUP]);
            assert.match(f.out(), /test:aws: 7 passed, 0 failed \(of 7 steps\)\ntest:aws: cleanup: every resource destroyed, stack test-aws-20261126-0315-beef empty and removed/);
            assert.strictEqual(f.handlers, 0, "signal handlers removed");
            assert.strictEqual(f.stack.exists, false);
        });

        it("runs every pulumi command against the persistent state, with the passphrase and the region", async () => {
            const f = fake({ env: { ...CREDENTIALS, PULUMI_BACKEND_URL: "s3://team-state/eks-nginx", PULUMI_CONFIG_PASSPHRASE: "p" } });
            let steps: StepsContext | undefined;
            f.deps.startSteps = (c) => {
                steps = c;
                f.stack.resources = [...CREATED];
                return { done: Promise.resolve(PASSED), interrupt: () => undefined, kill: () => undefined };
            };
            assert.strictEqual(await main(["--yes", "--dns-timeout", "120"], f.deps), 0);
            for (const env of [...f.envOf("pulumi"), steps!.env]) {
                assert.strictEqual(env.PULUMI_BACKEND_URL, "s3://team-state/eks-nginx");
                assert.strictEqual(env.PULUMI_CONFIG_PASSPHRASE, "p");
                assert.strictEqual(env.AWS_REGION, "eu-west-1");
            }
            assert.deepStrictEqual({ ...steps, env: undefined }, { stack: STACK, dir: path.join(ROOT, ".test-aws", STACK), region: "eu-west-1", env: undefined, dnsTimeoutSeconds: 120 });
        });

        it("a failing step: the same cleanup, exit 1, the steps not run counted", async () => {
            const f = fake({ steps: (_c, f) => {
                f.stack.resources = [...CREATED];
                return { done: Promise.resolve({ code: 1, passed: 1, failed: 1, notRun: 5, total: 7, loadBalancer: LB }), interrupt: () => undefined, kill: () => undefined };
            } });
            assert.strictEqual(await main(["--yes"], f.deps), 1);
            assert.deepStrictEqual(f.calls, [...CREATE, ...CLEANUP]);
            assert.match(f.out(), /test:aws: 1 passed, 1 failed, 5 not run \(of 7 steps\)\ntest:aws: cleanup: every resource destroyed/);
        });

        it("an exception (the steps' process cannot start): the cleanup still runs", async () => {
            const f = fake({ steps: (_c, f) => {
                f.stack.resources = [...CREATED];
                throw new Error("spawn node ENOENT");
            } });
            assert.strictEqual(await main(["--yes"], f.deps), 1);
            assert.deepStrictEqual(f.calls, [...CREATE, EXPORT, DESTROY, EXPORT, `pulumi stack rm ${STACK} --yes`, "removeWork"]);
            assert.match(f.out(), /\[test:aws\] error: spawn node ENOENT[^]*test:aws: no step ran \(spawn node ENOENT\)/);
        });

        it("an exception from the steps' process (it crashed): the cleanup still runs", async () => {
            const f = fake({ steps: (_c, f) => {
                f.stack.resources = [...CREATED];
                return { done: Promise.reject(new Error("steps.json unreadable")), interrupt: () => undefined, kill: () => undefined };
            } });
            assert.strictEqual(await main(["--yes"], f.deps), 1);
            assert.ok(f.calls.includes(DESTROY) && f.calls.includes(`pulumi stack rm ${STACK} --yes`), f.calls.join("\n"));
        });

        it("a failing pulumi config set after the stack exists: cleaned up (destroy, rm)", async () => {
            const f = fake({ exec: (c) => (c.args.includes("cluster.tags.stage") ? fail("error: config: boom") : undefined) });
            assert.strictEqual(await main(["--yes"], f.deps), 1);
            assert.deepStrictEqual(f.calls, [...CREATE.slice(0, 5), EXPORT, DESTROY, EXPORT, `pulumi stack rm ${STACK} --yes`, "removeWork"]);
        });

        it("stack init fails (the name exists): never destroys a stack it did not create", async () => {
            const f = fake();
            f.stack.exists = true;
            f.stack.resources = [...CREATED];
            assert.strictEqual(await main(["--yes", "--stack", STACK], f.deps), 1);
            assert.deepStrictEqual(f.calls, [...CREATE.slice(0, 3), "removeWork"]);
            assert.match(f.out(), /pulumi stack init test-aws-20261126-0315-beef failed: error: stack 'test-aws-20261126-0315-beef' already exists/);
            assert.strictEqual(f.stack.resources.length, CREATED.length);
        });
        it("SIGINT during a step: the step is stopped, then pulumi cancel, destroy, check, stack rm; exit 130", async () => {
            const f = fake({ steps: (_c, f) => {
                setImmediate(() => f.signal("SIGINT"));
                return interruptible(f);
            } });
            assert.strictEqual(await main(["--yes"], f.deps), 130);
            assert.deepStrictEqual(f.calls, [...CREATE, "interrupt", `pulumi cancel --yes --stack ${STACK}`, ...CLEANUP]);
            assert.match(f.out(), /\[test:aws\] SIGINT: stopping\. pulumi finishes the operations in flight/);
            assert.match(f.out(), /interrupted by SIGINT/);
        });

        it("a second Ctrl-C does not skip the cleanup (and is not passed on: pulumi would abandon what it has in flight)", async () => {
            const f = fake({ steps: (_c, f) => {
                setImmediate(() => {
                    f.signal("SIGINT");
                    f.signal("SIGINT");
                    f.signal("SIGTERM");
                });
                return interruptible(f, (resolve) => setTimeout(() => resolve({ code: 1, passed: 0, failed: 1, notRun: 6, total: 7 }), 5));
            } });
            assert.strictEqual(await main(["--yes"], f.deps), 130);
            assert.strictEqual(f.calls.filter((c) => c === "interrupt").length, 1);
            assert.ok(f.calls.includes(DESTROY) && f.calls.includes(`pulumi stack rm ${STACK} --yes`));
            assert.match(f.out(), /SIGINT again: still stopping[^]*SIGTERM again: still stopping/);
        });

        it("SIGTERM: the same, exit 143", async () => {
            const f = fake({ steps: (_c, f) => {
                setImmediate(() => f.signal("SIGTERM"));
                return interruptible(f);
            } });
            assert.strictEqual(await main(["--yes"], f.deps), 143);
            assert.deepStrictEqual(f.calls, [...CREATE, "interrupt", `pulumi cancel --yes --stack ${STACK}`, ...CLEANUP]);
        });

        it("SIGINT during the stack's creation: no step starts, the stack is cleaned up", async () => {
            const f = fake({ exec: (c, f) => {
                if (c.args.includes("aws:region")) {
                    f.signal("SIGINT");
                }
                return undefined;
            } });
            assert.strictEqual(await main(["--yes"], f.deps), 130);
            assert.ok(!f.calls.includes("startSteps"));
            assert.ok(!f.calls.some((c) => c.includes("cluster.tags")), "no further setup command");
            assert.ok(f.calls.includes(DESTROY) && f.calls.includes(`pulumi stack rm ${STACK} --yes`));
        });

        it("a stopped step that does not end in time is killed, then cleaned up", async () => {
            const f = fake({ steps: (_c, f) => {
                setImmediate(() => f.signal("SIGINT"));
                return interruptible(f, () => undefined);
            } });
            const t0 = f.clock;
            assert.strictEqual(await main(["--yes"], f.deps), 130);
            assert.deepStrictEqual(f.calls.slice(CREATE.length, CREATE.length + 3), ["interrupt", "kill", `pulumi cancel --yes --stack ${STACK}`]);
            assert.ok(f.clock - t0 >= 30 * 60_000, "waited the stop timeout first");
            assert.match(f.out(), /has not ended after 30 min: killing it/);
        });

        it("signals during the cleanup: it goes on", async () => {
            const f = fake({ exec: (c, f) => {
                if (c.args[1] === "destroy") {
                    f.signal("SIGINT");
                    f.signal("SIGTERM");
                }
                return undefined;
            } });
            assert.strictEqual(await main(["--yes"], f.deps), 0);
            assert.deepStrictEqual(f.calls, [...CREATE, ...CLEANUP]);
            assert.match(f.out(), /SIGINT: the cleanup goes on until the stack is destroyed and removed/);
        });
    });
});
