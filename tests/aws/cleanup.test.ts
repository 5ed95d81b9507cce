/**
 * The cleanup's hard cases: destroy failing (retried; leftovers listed with type and id), Kubernetes objects of a
 * gone cluster, operations in flight when pulumi was killed, a load balancer left behind, stack rm failing, and
 * --cleanup <stack>.
 */
import * as assert from "assert";
import { describeLeftovers, DESTROY_ATTEMPTS } from "./cleanup";
import { CREATED, CREDENTIALS, DESTROY, ELB_CHECK, EXPORT, fail, fake, interruptible, ok, PASSED, STACK, urn } from "./fakes";
import { main } from "./runner";

describe("npm run test:aws (without AWS)", () => {
    describe("the cleanup when something is left (a fake pulumi and aws record the calls in order)", () => {
        it("destroy fails every time: retried, the stack kept, each leftover listed with type and id; exit 3", async () => {
            const f = fake();
            f.destroyFailures = DESTROY_ATTEMPTS;
            const t0 = f.clock;
            assert.strictEqual(await main(["--yes"], f.deps), 3);
            assert.strictEqual(f.calls.filter((c) => c === DESTROY || c.startsWith("pulumi destroy")).length, DESTROY_ATTEMPTS);
            assert.ok(!f.calls.some((c) => c.startsWith("pulumi stack rm")), "stack kept for a retry");
            assert.ok(!f.calls.includes("removeWork"), "project copy kept");
            assert.ok(f.clock - t0 >= (DESTROY_ATTEMPTS - 1) * 60_000, "waited between attempts");
            const out = f.out();
            assert.match(out, /test:aws: LEFT BEHIND after the cleanup \(they cost money until removed\):/);
            assert.match(out, / {2}- aws:ec2\/vpc:Vpc vpc-0abc \(eks-nginx-x-vpc\)/);
            assert.match(out, / {2}- aws:eks\/cluster:Cluster eks-nginx-x-eks-1234567 \(eks-nginx-x-eks-eksCluster\)/);
            assert.match(out, / {2}- 2 component or provider entries in the stack/);
            assert.match(out, new RegExp(`retry: npm run test:aws -- --cleanup ${STACK} --region eu-west-1   \\(project copy and stack config kept in `));
        });

        it("destroy fails once (a subnet still in use): the retry finishes the job", async () => {
            const f = fake();
            f.destroyFailures = 1;
            assert.strictEqual(await main(["--yes"], f.deps), 0);
            assert.strictEqual(f.calls.filter((c) => c.startsWith("pulumi destroy")).length, 2);
            assert.ok(f.calls.includes(`pulumi stack rm ${STACK} --yes`));
        });

        it("Kubernetes objects left while their EKS cluster is gone: the retry lets the provider drop them", async () => {
            const f = fake({ steps: (_c, f) => {
                f.stack.resources = CREATED.filter((r) => r.type !== "aws:eks/cluster:Cluster");
                return { done: Promise.resolve(PASSED), interrupt: () => undefined, kill: () => undefined };
            }, exec: (c, f) => {
                if (c.args[1] === "destroy" && !c.env?.PULUMI_K8S_DELETE_UNREACHABLE) {
                    return fail("error: configured Kubernetes cluster is unreachable");
                }
                if (c.args[1] === "destroy") {
                    f.stack.resources = [];
                    return ok();
                }
                return undefined;
            } });
            assert.strictEqual(await main(["--yes"], f.deps), 0);
            assert.deepStrictEqual(f.envOf("pulumi destroy").map((e) => e.PULUMI_K8S_DELETE_UNREACHABLE), [undefined, "true"]);
        });

        it("operations pulumi had in flight when it was killed are listed as possible leftovers", async () => {
            const f = fake({ steps: (_c, f) => {
                setImmediate(() => f.signal("SIGINT"));
                f.stack.pending = [{ type: "aws:eks/cluster:Cluster", urn: urn("aws:eks/cluster:Cluster", "eks-nginx-x-eks-eksCluster"), kind: "creating" }];
                return interruptible(f, () => undefined);
            } });
            assert.strictEqual(await main(["--yes"], f.deps), 3);
            assert.match(f.out(), / {2}- possibly in AWS but not in the stack: aws:eks\/cluster:Cluster eks-nginx-x-eks-eksCluster was being created when pulumi was killed/);
            assert.ok(f.calls.includes(`pulumi stack rm ${STACK} --yes`), "the stack itself is empty and removed");
        });

        it("the load balancer Kubernetes made is still there after destroy: listed with the command that deletes it", async () => {
            const f = fake({ exec: (c) => (c.args[0] === "elb" ? ok(JSON.stringify({ LoadBalancerDescriptions: [{}] })) : undefined) });
            assert.strictEqual(await main(["--yes"], f.deps), 3);
            assert.strictEqual(f.calls.filter((c) => c === ELB_CHECK).length, 6, "checked for a minute");
            assert.match(f.out(), / {2}- Classic Load Balancer a0123456789abcdef0123456789abcde \(made by Kubernetes for sample-service, not in the stack[^\n]*aws elb delete-load-balancer --load-balancer-name a0123456789abcdef0123456789abcde --region eu-west-1/);
        });

        it("stack rm fails: the empty stack is a leftover", async () => {
            const f = fake({ exec: (c) => (c.args[1] === "stack" && c.args[2] === "rm" ? fail("error: could not remove stack: permission denied") : undefined) });
            assert.strictEqual(await main(["--yes"], f.deps), 3);
            assert.match(f.out(), / {2}- the stack test-aws-20261126-0315-beef itself \(empty\): pulumi stack rm failed: error: could not remove stack: permission denied/);
        });

        it("--cleanup <stack>: a stack an interrupted run left is destroyed and removed, after a confirmation", async () => {
            const f = fake({ tty: true, answer: "y", env: { AWS_ACCESS_KEY_ID: "A", AWS_SECRET_ACCESS_KEY: "S" } });
            f.stack.exists = true;
            f.stack.resources = [...CREATED];
            assert.strictEqual(await main(["--cleanup", STACK], f.deps), 0);
            assert.deepStrictEqual(f.calls, ["aws sts get-caller-identity --output json", "prepareWork cleanup", EXPORT, `pulumi config get aws:region --stack ${STACK}`,
                `ask Destroy stack ${STACK}? [y/N] `, `pulumi cancel --yes --stack ${STACK}`, EXPORT, DESTROY, EXPORT, `pulumi stack rm ${STACK} --yes`, "removeWork"]);
            assert.match(f.out(), /test:aws will destroy stack test-aws-20261126-0315-beef \([^)]*, region eu-west-1\) and remove it:\n {2}- aws:ec2\/vpc:Vpc vpc-0abc/);
        });

        it("--cleanup of a stack that does not exist: says so, changes nothing", async () => {
            const f = fake({ env: { ...CREDENTIALS } });
            assert.strictEqual(await main(["--cleanup", STACK, "--yes"], f.deps), 1);
            assert.match(f.out(), /no stack test-aws-20261126-0315-beef to clean up in file:\/\/[^:]*: error: no stack named/);
            assert.ok(!f.calls.some((c) => c.startsWith("pulumi destroy")));
        });

        it("lists leftovers by type, id and name; providers and components only counted", () => {
            assert.deepStrictEqual(describeLeftovers(CREATED), [
                "aws:ec2/vpc:Vpc vpc-0abc (eks-nginx-x-vpc)",
                "aws:eks/cluster:Cluster eks-nginx-x-eks-1234567 (eks-nginx-x-eks-eksCluster)",
                "kubernetes:core/v1:Service default/sample-service (sample-service)",
                "2 component or provider entries in the stack (nothing in AWS by themselves)",
            ]);
        });
    });
});
