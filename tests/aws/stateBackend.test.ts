/** Where npm run test:aws keeps the state: $PULUMI_BACKEND_URL, else .pulumi-state/ with npm run local's passphrase file. */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../../harness/mocks";
import { fileBackendUrl } from "../../harness/workspace";
import { stateEnv } from "./stateBackend";

describe("npm run test:aws (without AWS)", () => {
    describe("the state backend", () => {
        it("state: $PULUMI_BACKEND_URL, else .pulumi-state/ with npm run local's passphrase file", () => {
            assert.deepStrictEqual(stateEnv({}, "/repo"), { backend: "file:///repo/.pulumi-state?metadata=skip", stateDir: "/repo/.pulumi-state",
                passphraseFile: "/repo/.pulumi-state/passphrase",
                env: { PULUMI_BACKEND_URL: "file:///repo/.pulumi-state?metadata=skip", PULUMI_CONFIG_PASSPHRASE_FILE: "/repo/.pulumi-state/passphrase" } });
            assert.deepStrictEqual(stateEnv({ PULUMI_BACKEND_URL: "s3://b", PULUMI_CONFIG_PASSPHRASE_FILE: "/p" }, "/repo"),
                { backend: "s3://b", stateDir: undefined, env: { PULUMI_BACKEND_URL: "s3://b", PULUMI_CONFIG_PASSPHRASE_FILE: "/p" } });
        });

        it("opens .pulumi-state as npm run local does (scripts/pulumi-env.sh), so both share one state", () => {
            const env = fs.readFileSync(path.join(ROOT, "scripts", "pulumi-env.sh"), "utf8");
            assert.ok(env.includes(`export PULUMI_BACKEND_URL="${fileBackendUrl("$_repo/.pulumi-state")}"`),
                "scripts/pulumi-env.sh sets PULUMI_BACKEND_URL to what fileBackendUrl gives");
        });
    });
});
