import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../harness/mocks";
import { staleReason } from "../scripts/deps";

/**
 * scripts/deps.js, which `npm test` and `npm start` ask before running `npm ci`: node_modules is current
 * exactly when npm's record of what it installed matches package-lock.json (an optional package of another
 * platform may be absent), each package's folder is there, and the lockfile's root matches package.json.
 */
describe("node_modules up to date (scripts/deps.js)", () => {
    let dir = "";
    const lockPackages = () => ({
        "": { name: "demo", version: "1.0.0", dependencies: { a: "1.0.0" }, devDependencies: { b: "^2.0.0" } },
        "node_modules/a": { version: "1.0.0", resolved: "https://registry.npmjs.org/a/-/a-1.0.0.tgz", integrity: "sha512-a" },
        "node_modules/b": { version: "2.1.0", resolved: "https://registry.npmjs.org/b/-/b-2.1.0.tgz", integrity: "sha512-b", dev: true },
        "node_modules/b-darwin-arm64": { version: "2.1.0", integrity: "sha512-c", dev: true, optional: true, os: ["darwin"], cpu: ["arm64"] },
    });
    const writeJson = (file: string, value: unknown) => {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), JSON.stringify(value, null, 2));
    };
    /** A project as `npm ci` leaves it on Linux: a and b installed, b's darwin binary skipped. */
    const installed = (edit: (packages: Record<string, any>) => void = () => {}) => {
        writeJson("package.json", { name: "demo", version: "1.0.0", dependencies: { a: "1.0.0" }, devDependencies: { b: "^2.0.0" } });
        writeJson("package-lock.json", { name: "demo", version: "1.0.0", lockfileVersion: 3, requires: true, packages: lockPackages() });
        const recorded: Record<string, any> = lockPackages();
        delete recorded[""];
        delete recorded["node_modules/b-darwin-arm64"];
        edit(recorded);
        writeJson("node_modules/.package-lock.json", { name: "demo", version: "1.0.0", lockfileVersion: 3, requires: true, packages: recorded });
        writeJson("node_modules/a/package.json", { name: "a", version: "1.0.0" });
        writeJson("node_modules/b/package.json", { name: "b", version: "2.1.0" });
    };

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "eks-nginx-deps-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("is current as npm ci left it, an optional package of another platform absent, whatever the files' times", () => {
        installed();
        const later = new Date(Date.now() + 3600_000);
        fs.utimesSync(path.join(dir, "package-lock.json"), later, later);
        assert.strictEqual(staleReason(dir), null);
    });

    it("is stale with no node_modules, or none that npm recorded", () => {
        writeJson("package.json", { name: "demo" });
        writeJson("package-lock.json", { name: "demo", lockfileVersion: 3, packages: lockPackages() });
        assert.strictEqual(staleReason(dir), "node_modules is not installed");
        writeJson("node_modules/a/package.json", { name: "a", version: "1.0.0" });
        assert.strictEqual(staleReason(dir), "node_modules is not installed");
    });

    it("is stale when the lockfile pins another version or integrity than the one installed", () => {
        installed((p) => { p["node_modules/b"].version = "2.0.0"; });
        assert.strictEqual(staleReason(dir), "node_modules/b is 2.0.0, package-lock.json has 2.1.0");
        installed((p) => { p["node_modules/a"].integrity = "sha512-other"; });
        assert.match(staleReason(dir) ?? "", /^node_modules\/a is 1\.0\.0/);
    });

    it("is stale when a required package is not installed, or its folder is gone", () => {
        installed((p) => { delete p["node_modules/a"]; });
        assert.strictEqual(staleReason(dir), "node_modules/a is not installed");
        installed();
        fs.rmSync(path.join(dir, "node_modules", "b"), { recursive: true });
        assert.strictEqual(staleReason(dir), "node_modules/b is missing from its folder");
    });

    it("is stale when a package is installed that the lockfile does not list", () => {
        installed((p) => { p["node_modules/c"] = { version: "3.0.0" }; });
        assert.strictEqual(staleReason(dir), "node_modules/c is installed but not in package-lock.json");
    });

    it("is stale when package.json's dependencies differ from the lockfile's root", () => {
        installed();
        writeJson("package.json", { name: "demo", version: "1.0.0", dependencies: { a: "1.0.0", d: "4.0.0" }, devDependencies: { b: "^2.0.0" } });
        assert.strictEqual(staleReason(dir), "package.json's dependencies differ from package-lock.json's");
    });

    it("finds this project's node_modules current, as npm ci installed it", () => {
        assert.strictEqual(staleReason(ROOT), null);
    });
});
