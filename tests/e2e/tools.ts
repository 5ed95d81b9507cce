/**
 * What a step of the end-to-end suites and of npm run test:aws works with, for one workspace: the report, pulumi
 * and kubectl in the workspace's project copy and environment, and the app's objects.
 */
import { KubectlCommand, kubectlCommand } from "../../harness/kubectlCommand";
import { PulumiCommand, pulumiCommand } from "../../harness/pulumiCommand";
import { Workspace } from "../../harness/workspace";
import { AppObjects, appObjectsOf } from "./app";
import { createReport, Report } from "./report";

export interface StepTools extends Report, PulumiCommand, KubectlCommand, AppObjects {
    ws: Workspace;
}

/** A new report, and the commands of `ws` (each pulumi run logged in the report). */
export function stepTools(ws: Workspace): StepTools {
    const report = createReport();
    const kubectl = kubectlCommand(ws.env);
    return { ws, ...report, ...pulumiCommand(ws, report.log), ...kubectl, ...appObjectsOf(kubectl) };
}
