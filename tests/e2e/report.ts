/**
 * Step and check reporting of the end-to-end suites and npm run test:aws's steps: each step prints its checks
 * (`ok` or `FAIL`) and ends with [PASS] or [FAIL] and its wall time; the counts make the suite's closing
 * "N passed, N failed" line, which CI reads. A report is made by createReport(); nothing is counted on import.
 */

export interface Report {
    /** An indented line of the current step. */
    log(message: string): void;
    /** One check of the current step: an `ok` or `FAIL` line with what was observed; a failed check fails the step. */
    check(what: string, ok: boolean, observed: unknown): void;
    /** Runs a step: its title, its checks, then [PASS] or [FAIL] with its time. A step that throws fails. */
    step(title: string, body: () => Promise<void> | void): Promise<void>;
    /** A failure outside any step (the suite's setup): printed and counted as a failed step. */
    fail(message: string): void;
    /** The steps passed and failed so far. */
    counts(): { passed: number; failed: number };
}

export function createReport(): Report {
    let passed = 0;
    let failed = 0;
    let stepOk = true;
    return {
        log: (message) => console.log(`    ${message}`),
        check: (what, ok, observed) => {
            console.log(`    ${ok ? "ok  " : "FAIL"} ${what}: ${typeof observed === "string" ? observed : JSON.stringify(observed)}`);
            if (!ok) {
                stepOk = false;
            }
        },
        step: async (title, body) => {
            console.log(`\n[step] ${title}`);
            stepOk = true;
            const t0 = Date.now();
            try {
                await body();
            } catch (e) {
                stepOk = false;
                console.log(`    FAIL ${(e as Error).message}`);
            }
            console.log(`[${stepOk ? "PASS" : "FAIL"}] ${title} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
            if (stepOk) {
                passed++;
            } else {
                failed++;
            }
        },
        fail: (message) => {
            failed++;
            console.log(message);
        },
        counts: () => ({ passed, failed }),
    };
}
