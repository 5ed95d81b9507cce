// Added to the language host of sdk/v3 v3.68.0 by the eks-nginx toolchain (toolchain/pulumi/build.sh).

package main

import (
	"errors"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// nodeOptions are the `runtime.options` of a project's Pulumi.yaml or a policy pack's PulumiPolicy.yaml that
// this host reads.
type nodeOptions struct {
	typescript   bool
	tsconfigpath string
	nodeargs     string
}

// runtimeOptions reads the options from the request's program info, where today's CLIs send them (3.68.0's
// host took them only as flags, which those CLIs no longer pass), the same way and with the same messages
// as current upstream hosts (parseOptions). An option left unset keeps the host's flag: typescript is true
// unless the project says `typescript: false`.
func (host *nodeLanguageHost) runtimeOptions(info *pulumirpc.ProgramInfo) (nodeOptions, error) {
	opts := nodeOptions{typescript: host.typescript, tsconfigpath: host.tsconfigpath, nodeargs: host.nodeargs}
	options := info.GetOptions().AsMap()
	if v, ok := options["typescript"]; ok {
		b, ok := v.(bool)
		if !ok {
			return opts, errors.New("typescript option must be a boolean")
		}
		opts.typescript = b
	}
	if v, ok := options["tsconfig"]; ok {
		s, ok := v.(string)
		if !ok {
			return opts, errors.New("tsconfigpath option must be a string")
		}
		opts.tsconfigpath = s
	}
	if v, ok := options["nodeargs"]; ok {
		s, ok := v.(string)
		if !ok {
			return opts, errors.New("nodeargs option must be a string")
		}
		opts.nodeargs = s
	}
	return opts, nil
}
