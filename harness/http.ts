/**
 * HTTP as a user's browser or curl sees the app: one request on a new connection each time (no keep-alive, so
 * every request goes through the load balancer's rules afresh), and a bounded stream of requests that runs in a
 * process of its own while a `pulumi up` rolls the Deployment (so nothing the test does blocks it).
 *
 *   node -r ts-node/register/transpile-only harness/http.ts <url> <requests per second>
 * sends requests until its stdin closes, then prints a TrafficReport as JSON.
 */
import { ChildProcess, spawn } from "child_process";
import * as http from "http";

export interface Answer {
    /** HTTP status, or 0 when there was no response. */
    status: number;
    body: string;
    /** The connection error (ECONNREFUSED, timeout, ...) when there was no response. */
    error?: string;
}

/** One GET on a new connection; never throws. */
export function get(url: string, timeoutMs = 3000): Promise<Answer> {
    return new Promise((resolve) => {
        const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => (body += chunk));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
            res.on("error", (e) => resolve({ status: 0, body, error: (e as NodeJS.ErrnoException).code ?? e.message }));
        });
        req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
        req.on("error", (e) => resolve({ status: 0, body: "", error: (e as NodeJS.ErrnoException).code ?? e.message }));
    });
}

/** GETs `url` every 0.5 s until it answers as `page` (nginx's page, or no page at all), for at most `limit` seconds. */
export async function answerWithin(url: string, page: "nginx" | "httpd" | "other", limit: number): Promise<{ answer: Answer; seconds: number }> {
    const t0 = Date.now();
    let answer = await get(url, 2000);
    while (pageOf(answer) !== page && Date.now() - t0 < limit * 1000) {
        await new Promise((r) => setTimeout(r, 500));
        answer = await get(url, 2000);
    }
    return { answer, seconds: (Date.now() - t0) / 1000 };
}

/** Which server answered: nginx's welcome page, Apache's "It works!", or something else. */
export function pageOf(a: Answer): "nginx" | "httpd" | "other" {
    if (a.status === 200 && a.body.includes("<title>Welcome to nginx!</title>")) {
        return "nginx";
    }
    return a.status === 200 && a.body.includes("<h1>It works!</h1>") ? "httpd" : "other";
}

export interface TrafficReport {
    url: string;
    requestsPerSecond: number;
    /** When the first request was due (epoch milliseconds), what lastFailureAt counts from. */
    startedAt: number;
    seconds: number;
    sent: number;
    failed: number;
    /** The first failures, as "<time s> <status or error>". */
    failures: string[];
    /** The last failures, as "<time s> <status or error>" (the same as failures when there are 10 or fewer). */
    lastFailures: string[];
    /** The longest time between two requests that were answered (by when they were sent), in seconds: how long the app was out. */
    longestGap: number;
    /** When each failed request was sent, in seconds from the stream's start. */
    failedAt: number[];
    /** When the last failed request was sent, in seconds from the stream's start (null: none failed). */
    lastFailureAt: number | null;
    /** The answering server of each successful request, in order, with runs collapsed: e.g. ["nginx 412", "httpd 97"]. */
    pages: string[];
}

/** Starts the stream in a child process; `stop()` ends it and returns its report. */
export function startTraffic(url: string, requestsPerSecond: number): { child: ChildProcess; stop: () => Promise<TrafficReport> } {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", __filename, url, String(requestsPerSecond)],
        { stdio: ["pipe", "pipe", "inherit"] });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    const done = new Promise<TrafficReport>((resolve, reject) => {
        child.on("close", (code) => (code === 0 ? resolve(JSON.parse(out) as TrafficReport) : reject(new Error(`traffic process exited ${code}`))));
    });
    return { child, stop: () => { child.stdin!.end(); return done; } };
}

async function main(url: string, rps: number): Promise<void> {
    const t0 = Date.now();
    const report: TrafficReport = { url, requestsPerSecond: rps, startedAt: t0, seconds: 0, sent: 0, failed: 0, failures: [], lastFailures: [], longestGap: 0, failedAt: [], lastFailureAt: null, pages: [] };
    const inFlight = new Set<Promise<void>>();
    let last = "";
    let run = 0;
    const record = (page: string) => {
        if (page !== last && run > 0) {
            report.pages.push(`${last} ${run}`);
            run = 0;
        }
        last = page;
        run++;
    };
    let lastAnswered = 0;
    let stopping = false;
    process.stdin.on("end", () => (stopping = true));
    process.stdin.resume();
    // Requests go out on a fixed schedule, whether or not earlier ones have answered (bounded by their timeout).
    for (let i = 0; !stopping; i++) {
        const wait = t0 + (i * 1000) / rps - Date.now();
        if (wait > 0) {
            await new Promise((r) => setTimeout(r, wait));
        }
        if (stopping) {
            break;
        }
        report.sent++;
        const at = ((Date.now() - t0) / 1000).toFixed(2);
        const p = get(url, 2000).then((a) => {
            const page = pageOf(a);
            if (page === "other") {
                report.failed++;
                report.lastFailureAt = Math.max(report.lastFailureAt ?? 0, Number(at));
                report.failedAt.push(Number(at));
                report.lastFailures = [...report.lastFailures, `${at} s: ${a.error ?? `HTTP ${a.status}`}`].slice(-10);
                if (report.failures.length < 10) {
                    report.failures.push(`${at} s: ${a.error ?? `HTTP ${a.status}`}`);
                }
            } else {
                record(page);
                report.longestGap = Math.max(report.longestGap, Number(at) - lastAnswered);
                lastAnswered = Math.max(lastAnswered, Number(at));
            }
        });
        inFlight.add(p);
        void p.then(() => inFlight.delete(p));
    }
    await Promise.all(inFlight);
    if (run > 0) {
        report.pages.push(`${last} ${run}`);
    }
    report.seconds = (Date.now() - t0) / 1000;
    process.stdout.write(JSON.stringify(report));
}

if (require.main === module) {
    void main(process.argv[2], Number(process.argv[3] ?? 20));
}
