/** npm run test:aws's arguments: every flag, each bad one refused by name, --help, the names of new stacks. */
import * as assert from "assert";
import { DEFAULT_DNS_TIMEOUT_SECONDS, newStackName, parseArgs, UsageError } from "./arguments";
import { fake, STACK } from "./fakes";
import { main } from "./runner";

describe("npm run test:aws (without AWS)", () => {
    describe("arguments", () => {
        it("defaults: asks, region from the environment, a new stack name, DNS timeout 300 s", () => {
            assert.deepStrictEqual(parseArgs([]), { help: false, yes: false, dnsTimeoutSeconds: DEFAULT_DNS_TIMEOUT_SECONDS });
            assert.strictEqual(DEFAULT_DNS_TIMEOUT_SECONDS, 300);
        });

        it("takes every flag, as `--flag value` or `--flag=value`", () => {
            assert.deepStrictEqual(parseArgs(["--region", "eu-west-1", "--yes", "--stack", "test-aws-mine", "--dns-timeout=600"]),
                { help: false, yes: true, region: "eu-west-1", stack: "test-aws-mine", dnsTimeoutSeconds: 600 });
            assert.deepStrictEqual(parseArgs(["-y", "--cleanup=test-aws-old"]), { help: false, yes: true, dnsTimeoutSeconds: 300, cleanup: "test-aws-old" });
            assert.strictEqual(parseArgs(["-h"]).help, true);
            assert.strictEqual(parseArgs(["--region=us-gov-west-1"]).region, "us-gov-west-1");
        });

        const bad: [string[], RegExp][] = [
            [["--region"], /^--region needs a value: an AWS region, e\.g\. --region eu-west-1$/],
            [["--region", "--yes"], /^--region needs a value/],
            [["--region", "Europe"], /^--region Europe: not an AWS region name; expected e\.g\. us-east-1, eu-west-1, ap-northeast-1$/],
            [["--dns-timeout", "abc"], /^--dns-timeout abc: expected whole seconds from 10 to 3600$/],
            [["--dns-timeout", "5"], /^--dns-timeout 5: expected whole seconds from 10 to 3600$/],
            [["--dns-timeout=3601"], /^--dns-timeout 3601: expected whole seconds/],
            [["--dns-timeout", "1.5"], /^--dns-timeout 1\.5: expected whole seconds/],
            [["--stack", "dev"], /^--stack dev: expected test-aws-<lower-case letters, digits, hyphens>, at most 30 characters \(the prefix keeps the cleanup away from any other stack, such as dev or prod\)$/],
            [["--stack", "test-aws-Mine"], /^--stack test-aws-Mine: expected test-aws-/],
            [["--stack", `test-aws-${"x".repeat(22)}`], /^--stack test-aws-x+: expected/],
            [["--cleanup", "prod"], /^--cleanup prod: expected test-aws-/],
            [["--yes=no"], /^--yes takes no value$/],
            [["--yes", "--yes"], /^--yes is given twice$/],
            [["--bogus"], /^unknown flag --bogus; accepted: --region <region>, --yes, --stack <name>, --dns-timeout <seconds>, --cleanup <stack>, --help$/],
            [["us-east-1"], /^unexpected argument us-east-1; accepted: --region/],
            [["--cleanup", "test-aws-a", "--stack", "test-aws-b"], /^--cleanup and --stack: give one/],
        ];
        for (const [argv, message] of bad) {
            it(`refuses ${argv.join(" ")}, naming the flag and what it accepts`, () => {
                assert.throws(() => parseArgs(argv), (e: Error) => e instanceof UsageError && message.test(e.message));
            });
        }

        it("exits 2 on a bad argument before it checks or runs anything", async () => {
            const f = fake();
            assert.strictEqual(await main(["--region", "mars-1"], f.deps), 2);
            assert.deepStrictEqual(f.calls, []);
            assert.match(f.out(), /test:aws: --region mars-1: not an AWS region name[^]*npm run test:aws -- --help/);
        });

        it("--help prints the usage and runs nothing", async () => {
            const f = fake({ env: {} });
            assert.strictEqual(await main(["--help"], f.deps), 0);
            assert.deepStrictEqual(f.calls, []);
            assert.match(f.out(), /^usage: npm run test:aws -- \[--region <region>\] \[--yes\] \[--stack <name>\] \[--dns-timeout <seconds>\]/);
            assert.match(f.out(), /--cleanup <stack>/);
        });

        it("names a new stack test-aws-<UTC date>-<time>-<random>, a name it accepts as --stack", () => {
            const name = newStackName(Date.UTC(2026, 10, 26, 3, 15, 42), "beef");
            assert.strictEqual(name, STACK);
            assert.strictEqual(parseArgs(["--stack", name]).stack, name);
        });
    });
});
