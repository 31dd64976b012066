package deploy

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// composeFile is the part of a compose file the structural rules read.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image           string    `yaml:"image"`
	Command         []string  `yaml:"command"`
	Environment     yaml.Node `yaml:"environment"`
	Volumes         []string  `yaml:"volumes"`
	Ports           []string  `yaml:"ports"`
	DependsOn       yaml.Node `yaml:"depends_on"`
	Profiles        []string  `yaml:"profiles"`
	StopGracePeriod string    `yaml:"stop_grace_period"`
}

// sluiceService reports which Sluice binary a compose service runs.
func (s composeService) sluiceService() string {
	for _, name := range []string{"capture", "apply"} {
		if strings.Contains(s.Image, "sluice-cdc/"+name) {
			return name
		}
	}
	return ""
}

// names returns the keys of a mapping node or the items of a sequence
// node (depends_on and environment take both forms).
func names(n yaml.Node) []string {
	var out []string
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i < len(n.Content); i += 2 {
			out = append(out, n.Content[i].Value)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			out = append(out, strings.SplitN(c.Value, "=", 2)[0])
		}
	}
	return out
}

// composeProblems checks a compose file's structure; files it mounts are
// resolved against dir.
func composeProblems(raw []byte, dir string) []string {
	var f composeFile
	if err := yaml.Unmarshal(raw, &f); err != nil {
		return []string{err.Error()}
	}
	var p problems
	hostPorts := map[string]string{}
	for _, name := range sortedKeys(f.Services) {
		s := f.Services[name]
		for _, dep := range names(s.DependsOn) {
			d, ok := f.Services[dep]
			switch {
			case !ok:
				p.add("service %s depends on %s, which does not exist", name, dep)
			case len(d.Profiles) > 0 && !overlap(d.Profiles, s.Profiles):
				p.add("service %s depends on %s, which only runs with profile %v", name, dep, d.Profiles)
			}
		}
		for _, port := range s.Ports {
			parts := strings.Split(port, ":")
			if len(parts) < 2 {
				continue // container port only: no host port
			}
			host := strings.Join(parts[:len(parts)-1], ":")
			if other, dup := hostPorts[host]; dup {
				p.add("host port %s published by both %s and %s", host, other, name)
			}
			hostPorts[host] = name
		}
		if bin := s.sluiceService(); bin != "" {
			checkComposeSluice(&p, name, s, dir)
		}
	}
	return p
}

// checkComposeSluice checks a capture or apply service: its --config file
// is mounted from the repository, carries no secrets, finds its ${VAR}s
// in the environment, and the stop grace period exceeds its
// shutdown_timeout.
func checkComposeSluice(p *problems, name string, s composeService, dir string) {
	file := flagValue(s.Command, "config")
	if file == "" {
		p.add("service %s: no --config in its command", name)
		return
	}
	var host string
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == file {
			host = parts[0]
		}
	}
	if host == "" {
		p.add("service %s: --config %s is not mounted from a file", name, file)
		return
	}
	raw, err := os.ReadFile(filepath.Join(dir, host))
	if err != nil {
		p.add("service %s: config %s: %v", name, host, err)
		return
	}
	for _, s := range secretProblems(string(raw)) {
		p.add("service %s: %s: %s", name, host, s)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		p.add("service %s: %s: %v", name, host, err)
		return
	}
	env := map[string]bool{}
	for _, e := range names(s.Environment) {
		env[e] = true
	}
	for _, v := range envRefs(cfg) {
		if !env[v] {
			p.add("service %s: %s refers to ${%s}, which its environment does not set", name, host, v)
		}
	}
	shutdown := defaultShutdownTimeout
	if v, ok := cfg["shutdown_timeout"].(string); ok {
		shutdown, _ = time.ParseDuration(v)
	}
	grace := 10 * time.Second // compose's default
	if s.StopGracePeriod != "" {
		grace, _ = time.ParseDuration(s.StopGracePeriod)
	}
	if grace <= shutdown {
		p.add("service %s: stop_grace_period %s must be above shutdown_timeout %s", name, grace, shutdown)
	}
}

func overlap(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// TestComposeStructure checks docker-compose.yml and the files it mounts,
// without docker-compose.
func TestComposeStructure(t *testing.T) {
	root := repoRoot(t)
	raw, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range composeProblems(raw, root) {
		t.Error(p)
	}
	var f composeFile
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	// The stack the issue asks for.
	for _, want := range []string{"mysql", "kafka", "mariadb", "postgres", "mongo", "mongo-target", "capture", "apply-mariadb", "apply-postgres", "prometheus", "grafana"} {
		if _, ok := f.Services[want]; !ok {
			t.Errorf("docker-compose.yml has no service %s", want)
		}
	}
	mysql := strings.Join(f.Services["mysql"].Command, " ")
	for _, flag := range []string{"--gtid-mode=ON", "--enforce-gtid-consistency=ON", "--binlog-row-metadata=FULL", "--binlog-format=ROW", "--binlog-row-image=FULL", "--log-bin"} {
		if !strings.Contains(mysql, flag) {
			t.Errorf("mysql command lacks %s", flag)
		}
	}
	if !strings.Contains(f.Services["mysql"].Image, "mysql:8.4") {
		t.Errorf("mysql image %q, want mysql:8.4", f.Services["mysql"].Image)
	}
	// Prometheus scrapes every Sluice service on its http.listen port, and
	// nothing that does not exist.
	prom, err := os.ReadFile(filepath.Join(root, "deploy", "compose", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	scraped := map[string]bool{}
	for _, m := range regexp.MustCompile(`"([a-z0-9-]+):(\d+)"`).FindAllStringSubmatch(string(prom), -1) {
		scraped[m[1]] = true
		if _, ok := f.Services[m[1]]; !ok {
			t.Errorf("prometheus.yml scrapes %s, which is not a service", m[1])
		}
		if m[2] != "9090" {
			t.Errorf("prometheus.yml scrapes %s:%s; capture and apply listen on :9090 (http.listen)", m[1], m[2])
		}
	}
	for name, s := range f.Services {
		if s.sluiceService() != "" && !scraped[name] {
			t.Errorf("prometheus.yml does not scrape %s", name)
		}
	}
	mountsDashboards := false
	for _, v := range f.Services["grafana"].Volumes {
		if strings.HasPrefix(v, "./deploy/grafana:") {
			mountsDashboards = true
		}
	}
	if !mountsDashboards {
		t.Error("grafana does not mount ./deploy/grafana (the dashboard)")
	}
}

// TestComposeRulesCatchBreakage runs the structural rules on the broken
// files in testdata/compose-bad, each naming the problem it must cause.
func TestComposeRulesCatchBreakage(t *testing.T) {
	root := repoRoot(t)
	files, _ := filepath.Glob(filepath.Join("testdata", "compose-bad", "*.yml"))
	if len(files) == 0 {
		t.Fatal("no testdata/compose-bad cases")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yml"), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want := header(raw, "want")
			if got := composeProblems(raw, root); !anyContains(got, want) || want == "" {
				t.Errorf("want a problem containing %q, got:\n%s", want, strings.Join(got, "\n"))
			}
		})
	}
}

// dockerCompose finds Debian's docker-compose. make deps installs it, so in
// CI a missing one fails; SLUICE_TEST_SERVERS=none (outside CI) skips,
// like every test that needs an external tool.
func dockerCompose(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("docker-compose")
	if err == nil {
		return bin
	}
	msg := "docker-compose not found: install Debian's docker-compose (make deps does)"
	if os.Getenv("SLUICE_TEST_SERVERS") == "none" && os.Getenv("CI") != "true" {
		t.Skip(msg + "; skipped under SLUICE_TEST_SERVERS=none")
	}
	t.Fatal(msg)
	return ""
}

func runCompose(t *testing.T, bin, file string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Every profile, so the MongoDB services are validated too.
	cmd := exec.CommandContext(ctx, bin, "-f", file, "--profile", "mongo", "config", "-q")
	cmd.Dir = filepath.Dir(file)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestComposeConfig validates docker-compose.yml with `docker-compose
// config` (interpolation, schema, references), and shows that the same
// command rejects an invalid file.
func TestComposeConfig(t *testing.T) {
	bin := dockerCompose(t)
	root := repoRoot(t)
	if out, err := runCompose(t, bin, filepath.Join(root, "docker-compose.yml")); err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, out)
	}
	bad, err := filepath.Abs(filepath.Join("testdata", "compose-invalid.yml"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := runCompose(t, bin, bad)
	if err == nil {
		t.Fatalf("docker-compose config accepted %s:\n%s", bad, out)
	}
	if !strings.Contains(out, "stop_grace_periood") {
		t.Errorf("docker-compose config on %s: want an error naming stop_grace_periood, got:\n%s", bad, out)
	}
	t.Logf("docker-compose config rejects an unknown key as expected: %s", firstLine(out))
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
