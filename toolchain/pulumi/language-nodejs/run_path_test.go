// Added to the language host of sdk/v3 v3.68.0 by the eks-nginx toolchain: run by toolchain/pulumi/build.sh
// after it builds the host, with the Node.js the toolchain runs on.

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// write makes a file and its folders.
func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// nodeResolves is what `node -e "require.resolve(spec)"` prints in dir, as 3.68.0's locateModule runs it.
func nodeResolves(t *testing.T, spec, dir string) string {
	t.Helper()
	cmd := exec.Command("node", "-e", "console.log(require.resolve(process.argv[1]))", spec)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node cannot resolve %s in %s: %v", spec, dir, err)
	}
	return strings.TrimSpace(string(out))
}

// inDir runs f with dir as the working folder.
func inDir(t *testing.T, dir string, f func()) {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = os.Chdir(wd) }()
	f()
}

func TestResolveWithoutNodeAgreesWithNode(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not on PATH")
	}
	t.Setenv("NODE_PATH", "")
	root := t.TempDir()
	// The SDK installed in a folder that the project's node_modules links to, as a workspace or a
	// symlinked node_modules has it: Node.js resolves the link.
	write(t, filepath.Join(root, "store", "@pulumi", "pulumi", "package.json"), `{"name": "@pulumi/pulumi"}`)
	write(t, filepath.Join(root, "store", "@pulumi", "pulumi", "cmd", "run", "index.js"), "")
	write(t, filepath.Join(root, "project", "sub", "run.js"), "")
	write(t, filepath.Join(root, "project", "sub", "folder", "index.js"), "")
	if err := os.Symlink(filepath.Join(root, "store"), filepath.Join(root, "project", "node_modules")); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ spec, dir string }{
		{"@pulumi/pulumi/cmd/run", "project"},
		{"@pulumi/pulumi/cmd/run", filepath.Join("project", "sub")}, // found in a parent folder's node_modules
		{"@pulumi/pulumi/cmd/run/index", "project"},
		{"./sub/run", "project"},
		{"./folder", filepath.Join("project", "sub")},
		{"../sub/run.js", filepath.Join("project", "sub")},
		{filepath.Join(root, "project", "sub", "run"), "."},
	}
	for _, c := range cases {
		dir := filepath.Join(root, c.dir)
		inDir(t, dir, func() {
			got, ok := resolveWithoutNode(c.spec)
			if !ok {
				t.Errorf("%s in %s: left to Node.js, expected resolved", c.spec, c.dir)
				return
			}
			if want := nodeResolves(t, c.spec, dir); got != want {
				t.Errorf("%s in %s: %s, Node.js: %s", c.spec, c.dir, got, want)
			}
		})
	}
}

func TestResolveWithoutNodeLeavesTheRestToNode(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "node_modules", "exported", "package.json"), `{"exports": {"./run": "./lib/run.js"}}`)
	write(t, filepath.Join(root, "node_modules", "exported", "run.js"), "")
	write(t, filepath.Join(root, "node_modules", "withmain", "cmd", "package.json"), `{"main": "start.js"}`)
	write(t, filepath.Join(root, "node_modules", "withmain", "cmd", "start.js"), "")
	inDir(t, root, func() {
		t.Setenv("NODE_PATH", "")
		for _, spec := range []string{"exported/run", "withmain/cmd", "missing/cmd/run", "./missing", ""} {
			if got, ok := resolveWithoutNode(spec); ok {
				t.Errorf("%q: resolved to %s, expected it left to Node.js", spec, got)
			}
		}
		write(t, filepath.Join(root, "node_modules", "plain", "run.js"), "")
		if _, ok := resolveWithoutNode("plain/run"); !ok {
			t.Errorf("plain/run: left to Node.js, expected resolved")
		}
		t.Setenv("NODE_PATH", root)
		if got, ok := resolveWithoutNode("plain/run"); ok {
			t.Errorf("plain/run under NODE_PATH: resolved to %s, expected it left to Node.js", got)
		}
	})
}
