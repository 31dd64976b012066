package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDockerfiles checks what can be checked without a Docker engine:
// the final stage is distroless static or scratch and runs as non-root,
// the binary is built static from the go.work root, every COPY source
// exists in the build context and is not excluded by .dockerignore.
func TestDockerfiles(t *testing.T) {
	root := repoRoot(t)
	ignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var ignored []string
	for _, line := range strings.Split(string(ignore), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			ignored = append(ignored, line)
		}
	}
	from := regexp.MustCompile(`(?m)^FROM\s+(\S+)`)
	for _, svc := range []string{"capture", "apply"} {
		t.Run(svc, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(root, svc, "Dockerfile"))
			if err != nil {
				t.Fatal(err)
			}
			text := string(raw)
			froms := from.FindAllStringSubmatch(text, -1)
			if len(froms) < 2 {
				t.Fatalf("want a multi-stage build, got %d FROM lines", len(froms))
			}
			final := froms[len(froms)-1][1]
			if !strings.HasPrefix(final, "gcr.io/distroless/static") && final != "scratch" {
				t.Errorf("final stage FROM %s, want distroless static or scratch", final)
			}
			finalStage := text[strings.LastIndex(text, "\nFROM "):]
			if !regexp.MustCompile(`(?m)^USER\s+(65532|nonroot)`).MatchString(finalStage) && !strings.HasSuffix(final, ":nonroot") {
				t.Error("final stage does not run as non-root")
			}
			if !strings.Contains(text, "CGO_ENABLED=0") {
				t.Error("the build is not static (CGO_ENABLED=0)")
			}
			if !strings.Contains(text, "./"+svc+"/cmd/"+svc) {
				t.Errorf("does not build ./%s/cmd/%s", svc, svc)
			}
			for _, line := range strings.Split(text, "\n") {
				f := strings.Fields(line)
				if len(f) < 3 || f[0] != "COPY" || strings.HasPrefix(f[1], "--") {
					continue // not a COPY from the build context
				}
				for _, src := range f[1 : len(f)-1] {
					if _, err := os.Stat(filepath.Join(root, src)); err != nil {
						t.Errorf("COPY %s: not in the build context: %v", src, err)
					}
					for _, ig := range ignored {
						if strings.TrimSuffix(src, "/") == strings.TrimSuffix(ig, "/") {
							t.Errorf("COPY %s, but .dockerignore excludes it", src)
						}
					}
				}
			}
		})
	}
}
