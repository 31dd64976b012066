package testenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The Mongo wire servers are built from sources in tools/mongo, once per
// version and source change, into .cache (git-ignored); `make deps` builds
// them ahead of the tests, and the harness builds whatever is missing.
//
//   - FerretDB is its own Go module (tools/mongo/ferretdb), outside go.work,
//     so its dependency tree (SQLite in pure Go, SQL drivers,
//     OpenTelemetry) never enters the pkg, capture and apply modules. It is
//     built with GOWORK=off into .cache/ferretdb/<version>-<source hash>.
//   - mongo-java-server and its launcher come through Maven
//     (tools/mongo/java-server/pom.xml) into
//     .cache/mongo-java-server/<version>/libs.

// FerretDBVersion is the FerretDB release the apply tests run; keep it equal
// to the require in tools/mongo/ferretdb/go.mod.
const FerretDBVersion = "v1.24.2"

// MongoJavaServerVersion is the mongo-java-server release the change-stream
// tests run; keep it equal to mongo-java-server.version in
// tools/mongo/java-server/pom.xml.
const MongoJavaServerVersion = "1.47.0"

// buildTimeout bounds a build: a cold FerretDB build downloads and compiles
// a few hundred packages, which takes minutes on 2 cores.
const buildTimeout = 10 * time.Minute

// FerretDBBinary returns the path of the FerretDB server binary, building
// it first when it is missing or its sources changed. SLUICE_FERRETDB_BIN
// overrides it.
func FerretDBBinary(ctx context.Context) (string, error) {
	if bin := os.Getenv("SLUICE_FERRETDB_BIN"); bin != "" {
		return bin, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	src := filepath.Join(root, "tools", "mongo", "ferretdb")
	sum, err := hashFiles(src, "go.mod", "go.sum", "main.go")
	if err != nil {
		return "", fmt.Errorf("reading FerretDB tool sources: %w", err)
	}
	bin := filepath.Join(root, ".cache", "ferretdb", FerretDBVersion+"-"+sum, "ferretdb")
	err = buildOnce(ctx, bin, func(ctx context.Context, tmp string) error {
		gobin, err := exec.LookPath("go")
		if err != nil {
			return fmt.Errorf("go not found: %w", err)
		}
		cmd := exec.CommandContext(ctx, gobin, "build", "-o", tmp, ".")
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building FerretDB (GOWORK=off go build in %s): %w\n%s", src, err, out)
		}
		return nil
	})
	return bin, err
}

// MongoJavaServerLibs returns the directory holding mongo-java-server, its
// dependencies and the launcher jar, fetching and building them through
// Maven when missing. SLUICE_MONGO_JAVA_SERVER_LIBS overrides it.
func MongoJavaServerLibs(ctx context.Context) (string, error) {
	if d := os.Getenv("SLUICE_MONGO_JAVA_SERVER_LIBS"); d != "" {
		return d, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	src := filepath.Join(root, "tools", "mongo", "java-server")
	sum, err := hashFiles(src, "pom.xml", "src/main/java/dev/sluice/mongo/JavaServer.java")
	if err != nil {
		return "", fmt.Errorf("reading mongo-java-server tool sources: %w", err)
	}
	libs := filepath.Join(root, ".cache", "mongo-java-server", MongoJavaServerVersion+"-"+sum, "libs")
	marker := filepath.Join(libs, ".complete")
	err = buildOnce(ctx, marker, func(ctx context.Context, tmp string) error {
		mvn, err := exec.LookPath("mvn")
		if err != nil {
			return fmt.Errorf("mvn not found (run `make deps`): %w", err)
		}
		_ = os.RemoveAll(libs)
		cmd := exec.CommandContext(ctx, mvn, "-q", "-B", "-f", filepath.Join(src, "pom.xml"), "package",
			"dependency:copy-dependencies", "-DincludeScope=runtime", "-DoutputDirectory="+libs)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building mongo-java-server (mvn in %s): %w\n%s", src, err, out)
		}
		jar := filepath.Join(root, ".cache", "mongo-java-server", "build", "sluice-mongo-java-server-1.jar")
		b, err := os.ReadFile(jar)
		if err != nil {
			return fmt.Errorf("the launcher jar was not built: %w", err)
		}
		if err := os.WriteFile(filepath.Join(libs, "sluice-mongo-java-server.jar"), b, 0o644); err != nil {
			return err
		}
		return os.WriteFile(tmp, nil, 0o644)
	})
	return libs, err
}

// buildOnce makes target with build unless it exists. build writes to a
// temporary path that is renamed to target, and an exclusive lock on a
// file beside target keeps concurrent test binaries (go test runs packages
// in parallel) from building the same thing twice.
func buildOnce(ctx context.Context, target string, build func(ctx context.Context, tmp string) error) error {
	if _, err := os.Stat(target); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	lock, err := os.OpenFile(target+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("locking %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck
	if _, err := os.Stat(target); err == nil {
		return nil // another process built it while this one waited
	}
	announce("testenv: building %s (once; `make deps` does this ahead of the tests)", target)
	ctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	tmp := target + ".tmp"
	_ = os.Remove(tmp)
	if err := build(ctx, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, target)
}

// hashFiles returns a short hash of the named files under dir, so a cached
// build is redone when its sources change.
func hashFiles(dir string, names ...string) (string, error) {
	h := sha256.New()
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// javaClasspath is the classpath of a libs directory, for java -cp.
func javaClasspath(libs string) string { return strings.TrimSuffix(libs, "/") + "/*" }
