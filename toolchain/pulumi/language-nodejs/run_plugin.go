// Added to the language host of sdk/v3 v3.68.0 by the eks-nginx toolchain (toolchain/pulumi/build.sh).

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"github.com/google/shlex"
	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// RunPlugin runs a plugin written for Node.js: since CLI 3.221 this is how the CLI starts a policy pack
// whose PulumiPolicy.yaml says `runtime: nodejs` (kind "analyzer"); 3.68.0's host answered "not
// supported". It does what current upstream hosts do (sdk/nodejs/cmd/pulumi-language-nodejs, RunPlugin),
// less attaching a debugger: a policy pack runs as `node <@pulumi/pulumi/cmd/run-policy-pack> <engine>
// <pack folder>` in the pack's folder, the SDK resolved from there as Node.js resolves it (so a pack inside
// a project uses the project's node_modules), its TypeScript compiled by the SDK's ts-node unless the pack
// sets `typescript: false`; behind the SDK's policy proxy, which takes the CLI's stack configuration first
// and hands it to the pack in the environment the Node.js policy SDK reads. Any other kind runs through
// @pulumi/pulumi/cmd/run-plugin (or $PULUMI_LANGUAGE_NODEJS_RUN_PATH) in the CLI's working folder.
func (host *nodeLanguageHost) RunPlugin(
	req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer,
) error {
	ctx := server.Context()
	dir := req.GetInfo().GetProgramDirectory()
	logging.V(5).Infof("RunPlugin: %s plugin in %s", req.GetKind(), dir)
	if req.GetAttachDebugger() {
		return errors.New("this language host cannot attach a debugger to a plugin")
	}

	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	// best effort close, but we try an explicit close and error check at the end as well
	defer closer.Close()

	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	opts, err := host.runtimeOptions(req.GetInfo())
	if err != nil {
		return err
	}
	env := req.GetEnv()
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfigpath != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfigpath)
	}

	policyPack := req.GetKind() == string(apitype.AnalyzerPlugin)
	runPath := "@pulumi/pulumi/cmd/run-policy-pack"
	if !policyPack {
		runPath = "@pulumi/pulumi/cmd/run-plugin"
		if p := os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH"); p != "" {
			runPath = p
		}
	}
	runPath, err = locateModuleFrom(ctx, runPath, dir, nodeBin)
	if err != nil {
		return err
	}

	// nodeargs are Node.js's own options, so they come before the script, as in Run.
	args, err := shlex.Split(opts.nodeargs)
	if err != nil {
		return err
	}
	args = append(args, runPath)
	// A policy pack takes its folder last, after the engine address; other plugins take it first.
	if policyPack {
		args = append(args, req.GetArgs()...)
		args = append(args, dir)
	} else {
		args = append(args, dir)
		args = append(args, req.GetArgs()...)
	}

	var proxy *sdk.PolicyProxy
	if policyPack {
		proxy, stdout, err = sdk.NewPolicyProxy(ctx, stdout)
		if err != nil {
			return fmt.Errorf("could not start policy pack proxy: %w", err)
		}
		config, err := proxy.AwaitConfiguration(ctx)
		if err != nil {
			return fmt.Errorf("could not get stack configuration: %w", err)
		}
		if config != nil {
			setEnv := func(k, v string) {
				if v != "" {
					env = append(env, k+"="+v)
				}
			}
			setEnv("PULUMI_NODEJS_ORGANIZATION", config.GetOrganization())
			setEnv("PULUMI_NODEJS_PROJECT", config.GetProject())
			setEnv("PULUMI_NODEJS_STACK", config.GetStack())
			setEnv("PULUMI_NODEJS_DRY_RUN", strconv.FormatBool(config.GetDryRun()))
			if config.GetConfig() != nil {
				configJSON, err := json.Marshal(config.GetConfig())
				if err != nil {
					return fmt.Errorf("could not marshal stack configuration: %w", err)
				}
				setEnv(pulumiConfigVar, string(configJSON))
			}
		}
	}

	// #nosec G204
	cmd := exec.CommandContext(ctx, nodeBin, args...)
	// Policy packs have always run in their own folder.
	cmd.Dir = req.GetPwd()
	if policyPack {
		cmd.Dir = dir
	}
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	logging.V(5).Infof("RunPlugin: launching %s", cmd)

	if err := cmd.Start(); err != nil {
		if proxy != nil {
			proxy.Abort(err)
		}
		return fmt.Errorf("Problem executing plugin program (could not run language executor): %w", err)
	}
	if proxy != nil {
		err = proxy.Attach(ctx, cmd)
	} else {
		err = cmd.Wait()
	}
	if err != nil {
		var exiterr *exec.ExitError
		if errors.As(err, &exiterr) {
			if status, ok := exiterr.Sys().(syscall.WaitStatus); ok {
				return fmt.Errorf("Program exited with non-zero exit code: %d", status.ExitStatus())
			}
			return fmt.Errorf("Program exited unexpectedly: %w", exiterr)
		}
		return err
	}
	return closer.Close()
}

// locateModuleFrom resolves a module as Node.js does from dir (3.68.0's locateModule resolves from the host's
// own working folder, the project's, which is not the plugin's).
func locateModuleFrom(ctx context.Context, mod, dir, nodeBin string) (string, error) {
	const script = `const [mod, dir] = process.argv.slice(1);
try {
    console.log(require.resolve(mod));
} catch (error) {
    console.error(error.code === "MODULE_NOT_FOUND"
        ? "It looks like the Pulumi SDK has not been installed: " + mod + " is not found from " + dir + ". Have you run npm install?"
        : error.message);
    process.exit(1);
}`
	// #nosec G204
	cmd := exec.CommandContext(ctx, nodeBin, "-e", script, mod, dir)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var exiterr *exec.ExitError
		if errors.As(err, &exiterr) {
			return "", errors.New(strings.TrimSpace(string(exiterr.Stderr)))
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}
