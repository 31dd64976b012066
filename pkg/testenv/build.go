package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sync"
	"testing"
)

var built struct {
	mu    sync.Mutex
	paths map[string]string
	errs  map[string]error
}

// Binary builds the command at importPath (e.g.
// "github.com/sluice-cdc/sluice/capture/cmd/capture", resolved through the
// workspace) once per test process and returns the executable's path, so
// tests run the real binaries the Makefile builds (static, no cgo). The
// file is removed at the end of the process by Main.
func Binary(tb testing.TB, importPath string) string {
	tb.Helper()
	built.mu.Lock()
	defer built.mu.Unlock()
	if built.paths == nil {
		built.paths, built.errs = map[string]string{}, map[string]error{}
	}
	if p, ok := built.paths[importPath]; ok {
		return p
	}
	if err, ok := built.errs[importPath]; ok {
		tb.Fatal(err)
	}
	p, err := buildBinary(importPath)
	if err != nil {
		built.errs[importPath] = err
		tb.Fatal(err)
	}
	built.paths[importPath] = p
	return p
}

func buildBinary(importPath string) (string, error) {
	dir, err := os.MkdirTemp("", "sluice-bin-")
	if err != nil {
		return "", err
	}
	register(func() { os.RemoveAll(dir) })
	out := filepath.Join(dir, path.Base(importPath))
	cmd := exec.Command("go", "build", "-o", out, importPath)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", importPath, err, b)
	}
	return out, nil
}
