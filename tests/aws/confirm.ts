/** The question before anything is created or destroyed: --yes answers it; without a terminal nobody can. */
import { Options } from "./arguments";
import { Deps } from "./deps";

export async function confirm(question: string, o: Options, d: Deps): Promise<{ ok: boolean; why: string }> {
    if (o.yes) {
        return { ok: true, why: "--yes" };
    }
    if (!d.isTTY) {
        return { ok: false, why: "stdin is not a terminal, so nobody can answer: pass --yes to run unattended" };
    }
    const answer = (await d.ask(`${question} [y/N] `)).trim().toLowerCase();
    return answer === "y" || answer === "yes" ? { ok: true, why: "confirmed" } : { ok: false, why: `declined (answer ${JSON.stringify(answer)})` };
}

