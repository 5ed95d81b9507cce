// Added to the language host of sdk/v3 v3.68.0 by the eks-nginx toolchain (toolchain/pulumi/build.sh).

package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
)

// resolveRunPath finds the SDK's run path (by default @pulumi/pulumi/cmd/run) as `node -e
// "require.resolve(...)"` in this host's working folder does, which is what 3.68.0's locateModule runs
// before every program: a Node.js process started and waited for each time, about 50 ms before the
// program's own process can start. Here the common cases are resolved without it, by Node.js' rules
// (https://nodejs.org/api/modules.html#all-together): a path (absolute, ./ or ../), or a package
// subpath looked up in the node_modules folders from the working folder up, each tried as a file, the
// file with an extension, then a folder's index. Node.js gives the real path (symbolic links resolved),
// and so does this. Anything these rules leave open goes to locateModule, so that Node.js decides as
// before: NODE_PATH set, a package whose package.json has "exports", a folder with a package.json, or
// nothing found (Node.js' own error then).
func resolveRunPath(ctx context.Context, runPath, nodeBin string) (string, error) {
	if resolved, ok := resolveWithoutNode(runPath); ok {
		return resolved, nil
	}
	return locateModule(ctx, runPath, nodeBin)
}

// resolveWithoutNode is resolveRunPath's own part: the resolved real path, or false when it is Node.js'
// to decide.
func resolveWithoutNode(runPath string) (string, bool) {
	if os.Getenv("NODE_PATH") != "" || runPath == "" {
		return "", false
	}
	if filepath.IsAbs(runPath) || strings.HasPrefix(runPath, "./") || strings.HasPrefix(runPath, "../") {
		abs, err := filepath.Abs(runPath)
		if err != nil {
			return "", false
		}
		return loadFileOrFolder(abs)
	}
	parts := strings.Split(runPath, "/")
	pkg := parts[0]
	if strings.HasPrefix(pkg, "@") {
		if len(parts) < 2 {
			return "", false
		}
		pkg = parts[0] + "/" + parts[1]
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if filepath.Base(dir) != "node_modules" {
			modules := filepath.Join(dir, "node_modules")
			if hasExports(filepath.Join(modules, pkg, "package.json")) {
				return "", false
			}
			if resolved, ok := loadFileOrFolder(filepath.Join(modules, filepath.FromSlash(runPath))); ok {
				return resolved, true
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// loadFileOrFolder is Node.js' LOAD_AS_FILE, then LOAD_AS_DIRECTORY for a folder without a package.json.
func loadFileOrFolder(path string) (string, bool) {
	for _, candidate := range []string{path, path + ".js", path + ".json", path + ".node"} {
		if isFile(candidate) {
			return realPath(candidate)
		}
	}
	if info, err := os.Stat(path); err != nil || !info.IsDir() {
		return "", false
	}
	if _, err := os.Stat(filepath.Join(path, "package.json")); !os.IsNotExist(err) {
		return "", false
	}
	for _, index := range []string{"index.js", "index.json", "index.node"} {
		if candidate := filepath.Join(path, index); isFile(candidate) {
			return realPath(candidate)
		}
	}
	return "", false
}

// hasExports says whether a package.json exists and has an "exports" field, or cannot be read as JSON
// (Node.js' to judge, then).
func hasExports(packageJSON string) bool {
	data, err := os.ReadFile(packageJSON)
	if os.IsNotExist(err) {
		return false
	}
	if err != nil {
		return true
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(data, &fields) != nil {
		return true
	}
	_, ok := fields["exports"]
	return ok
}

func isFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular()
}

func realPath(path string) (string, bool) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", false
	}
	return real, true
}
