/**
 * The tutorial's YAML (bench/manifests/) with this project's values filled in: what the bench's kubectl applies,
 * and what tests/benchManifests.test.ts holds to the objects the program makes, so both tools apply the same.
 */
import * as fs from "fs";
import * as path from "path";

const MANIFESTS = path.resolve(__dirname, "manifests");

export interface ManifestValues {
    replicas: number;
    image: string;
    port: number;
    container: string;
}

/** The text of bench/manifests/`file` with ${REPLICAS}, ${IMAGE}, ${PORT} and ${CONTAINER} filled in. */
export function tutorialYaml(file: string, v: ManifestValues): string {
    return fs.readFileSync(path.join(MANIFESTS, file), "utf8")
        .replaceAll("${REPLICAS}", String(v.replicas)).replaceAll("${IMAGE}", v.image)
        .replaceAll("${PORT}", String(v.port)).replaceAll("${CONTAINER}", v.container);
}

/** The files for `replicas`: the PodDisruptionBudget from 2 replicas, as the program makes it. */
export const tutorialFiles = (replicas: number): string[] => ["deployment.yml", "service.yml", ...(replicas >= 2 ? ["pdb.yml"] : [])];
