/**
 * What the tutorial's checks know about AWS (tests/aws/target.ts): a Classic Load Balancer's hostname, which answers
 * mean nothing serves any more, and the bounded waits for a first answer and for silence.
 */
import * as assert from "assert";
import { Answer } from "../../harness/http";
import { LB_HOSTNAME } from "../../harness/mocks";
import { LB } from "./fakes";
import { awsRefused, elbNameOf, ELB_HOSTNAME, firstOk, waitForAnswer } from "./target";

describe("npm run test:aws (without AWS)", () => {
    describe("the AWS target of the tutorial", () => {
        it("recognises a Classic Load Balancer's hostname and the load balancer it names", () => {
            assert.match(LB_HOSTNAME, ELB_HOSTNAME);
            assert.strictEqual(elbNameOf(LB), "a0123456789abcdef0123456789abcde");
            assert.strictEqual(elbNameOf("internal-a01-99.us-east-1.elb.amazonaws.com"), "a01");
            assert.strictEqual(elbNameOf("127.96.0.1"), undefined);
            assert.strictEqual(elbNameOf("a01-abc.elb.us-east-1.amazonaws.com"), undefined, "an NLB's hostname is not a CLB's");
        });

        it("counts refused, reset, a name gone from DNS and silence as nothing serving; any HTTP answer as serving", () => {
            for (const error of ["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "no answer within 5000 ms"]) {
                assert.ok(awsRefused({ status: 0, body: "", error }), error);
            }
            assert.ok(!awsRefused({ status: 503, body: "" }));
            assert.ok(!awsRefused({ status: 200, body: "x" }));
            assert.ok(!awsRefused({ status: 0, body: "", error: "EPROTO" }));
        });

        function fakeHttp(answers: Answer[]) {
            let clock = 0;
            const urls: string[] = [];
            return {
                urls,
                clock: () => clock,
                o: {
                    get: async (url: string) => {
                        urls.push(url);
                        return answers.length > 1 ? answers.shift()! : answers[0];
                    },
                    sleep: async (ms: number) => {
                        clock += ms;
                    },
                    now: () => clock,
                },
            };
        }

        it("waits for the load balancer's DNS name and first 200, polling", async () => {
            const h = fakeHttp([{ status: 0, body: "", error: "ENOTFOUND" }, { status: 0, body: "", error: "ENOTFOUND" },
                { status: 0, body: "", error: "ECONNREFUSED" }, { status: 200, body: "<title>Welcome to nginx!</title>" }]);
            const logs: string[] = [];
            const a = await waitForAnswer("http://lb:80", firstOk, { timeoutMs: 300_000, intervalMs: 20_000, log: (m) => logs.push(m), ...h.o });
            assert.strictEqual(a.status, 200);
            assert.strictEqual(h.urls.length, 4);
            assert.deepStrictEqual(logs, ["http://lb:80: ECONNREFUSED after 40 s (waiting up to 300 s)"]);
        });

        it("gives up after the timeout with the last answer (the check then fails with it)", async () => {
            const h = fakeHttp([{ status: 0, body: "", error: "ENOTFOUND" }]);
            const a = await waitForAnswer("http://lb:80", firstOk, { timeoutMs: 300_000, ...h.o });
            assert.strictEqual(a.error, "ENOTFOUND");
            assert.ok(h.clock() >= 300_000 && h.clock() < 310_000, `${h.clock()}`);
        });

        it("stops waiting when the run stops", async () => {
            const h = fakeHttp([{ status: 0, body: "", error: "ENOTFOUND" }]);
            const a = await waitForAnswer("http://lb:80", firstOk, { timeoutMs: 300_000, stopped: () => true, ...h.o });
            assert.strictEqual(a.error, "ENOTFOUND");
            assert.strictEqual(h.urls.length, 1);
        });

        it("waits for an address to stop answering (the load balancer lets go after destroy)", async () => {
            const h = fakeHttp([{ status: 503, body: "" }, { status: 0, body: "", error: "ENOTFOUND" }]);
            const a = await waitForAnswer("http://lb:8080", awsRefused, { timeoutMs: 120_000, ...h.o });
            assert.strictEqual(a.error, "ENOTFOUND");
        });
    });
});
