package deploy

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
)

// buildServices builds bin/capture and bin/apply from this checkout (the
// go.work workspace) into a temporary directory. pkg cannot import the
// services' config types, so their own check-config command is the real
// loader: unknown fields, ${VAR} references, defaults and Validate.
func buildServices(t *testing.T) map[string]string {
	t.Helper()
	root := repoRoot(t)
	dir := t.TempDir()
	bins := map[string]string{}
	for _, svc := range []string{"capture", "apply"} {
		out := filepath.Join(dir, svc)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		cmd := exec.CommandContext(ctx, filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", out, "./"+svc+"/cmd/"+svc)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		b, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("building %s: %v\n%s", svc, err, b)
		}
		bins[svc] = out
	}
	return bins
}

// checkConfig runs `<bin> check-config --config file` with a dummy value
// for every variable the config requires, as the Deployment or compose
// service would provide from a Secret.
func checkConfig(bin, file string, raw []byte) (string, error) {
	var cfg map[string]any
	_ = yaml.Unmarshal(raw, &cfg)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}
	for _, v := range envRefs(cfg) {
		val := "dummy-" + strings.ToLower(v)
		if v == "TARGET_DSN" {
			val = "sluice:dummy@tcp(db:3306)/warehouse"
			if target, _ := cfg["target"].(map[string]any); target["kind"] == "postgres" {
				val = "postgres://sluice:dummy@db:5432/warehouse"
			}
		}
		env = append(env, v+"="+val)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "check-config", "--config", file)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestConfigsLoad checks every config the manifests and the compose stack
// carry with the services' own loaders, and shows that a broken one
// fails.
//
// It builds both services: a few seconds with a warm build cache (make
// vet compiles the packages first), about 90s on 2 cores with a cold one.
// -short skips it.
func TestConfigsLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: not building capture and apply to run check-config")
	}
	bins := buildServices(t)
	root := repoRoot(t)
	dir := t.TempDir()

	type config struct{ where, svc string }
	files := map[string]config{}
	fsys := k8sFS(t)
	for _, overlay := range []string{"dev", "prod"} {
		objs, err := render(fsys, "/k8s/overlays/"+overlay)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			cm, ok := o.Obj.(*corev1.ConfigMap)
			if !ok {
				continue
			}
			for key, text := range cm.Data {
				svc := strings.TrimSuffix(key, ".yaml")
				if svc != "capture" && svc != "apply" {
					t.Errorf("overlay %s ConfigMap %s key %s: not capture.yaml or apply.yaml", overlay, cm.Name, key)
					continue
				}
				f := filepath.Join(dir, overlay+"-"+cm.Name+"-"+key)
				if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
				files[f] = config{"overlay " + overlay + " ConfigMap " + cm.Name, svc}
			}
		}
	}
	compose, _ := filepath.Glob(filepath.Join(root, "deploy", "compose", "*.yaml"))
	for _, f := range compose {
		svc := "apply"
		if strings.HasPrefix(filepath.Base(f), "capture") {
			svc = "capture"
		}
		files[f] = config{"deploy/compose/" + filepath.Base(f), svc}
	}
	if len(files) < 8 {
		t.Fatalf("found only %d configs to check", len(files))
	}
	for _, f := range sortedKeys(files) {
		c := files[f]
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := checkConfig(bins[c.svc], f, raw); err != nil {
			t.Errorf("%s: %s check-config: %v\n%s", c.where, c.svc, err, out)
		}
	}

	// The same check fails on a misspelt option.
	bad := filepath.Join(dir, "bad-capture.yaml")
	raw, _ := os.ReadFile(filepath.Join(root, "deploy", "compose", "capture.yaml"))
	raw = bytes.Replace(raw, []byte("  partitions:"), []byte("  partitons:"), 1)
	if err := os.WriteFile(bad, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := checkConfig(bins["capture"], bad, raw); err == nil || !strings.Contains(out, "partitons") {
		t.Errorf("capture check-config on a misspelt key: err %v, output:\n%s", err, out)
	}
}
