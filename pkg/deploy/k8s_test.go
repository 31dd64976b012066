package deploy

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// repoRoot is the go.work root, two levels above this package.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.work")); err != nil {
		t.Fatalf("repository root not found from pkg/deploy: %v", err)
	}
	return root
}

// object is one rendered Kubernetes object, decoded into its API type
// (a pointer such as *appsv1.Deployment).
type object struct {
	Kind, Name, Namespace string
	Obj                   any
}

func (o object) String() string { return o.Kind + " " + o.Name }

// newObject returns an empty typed object for apiVersion and kind; the
// decode is strict against it. KEDA and the Prometheus Operator publish no
// Go types in k8s.io/api, so their kinds decode into the local structs in
// crd_test.go.
func newObject(apiVersion, kind string) (any, bool) {
	switch apiVersion + "/" + kind {
	case "v1/Namespace":
		return &corev1.Namespace{}, true
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, true
	case "v1/Secret":
		return &corev1.Secret{}, true
	case "v1/Service":
		return &corev1.Service{}, true
	case "v1/ServiceAccount":
		return &corev1.ServiceAccount{}, true
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, true
	case "batch/v1/Job":
		return &batchv1.Job{}, true
	case "policy/v1/PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, true
	case "autoscaling/v2/HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, true
	case "networking.k8s.io/v1/NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, true
	case "keda.sh/v1alpha1/ScaledObject":
		return &scaledObject{}, true
	case "monitoring.coreos.com/v1/ServiceMonitor":
		return &serviceMonitor{}, true
	}
	return nil, false
}

// decodeStrict decodes one object's YAML into its API type; unknown
// fields, duplicate fields and mistyped values are errors.
func decodeStrict(doc []byte) (object, error) {
	var head struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   metav1.ObjectMeta `json:"metadata"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return object{}, err
	}
	o := object{Kind: head.Kind, Name: head.Metadata.Name, Namespace: head.Metadata.Namespace}
	typed, ok := newObject(head.APIVersion, head.Kind)
	if !ok {
		return o, fmt.Errorf("%s: no API type known for %s %s (add it to newObject)", o, head.APIVersion, head.Kind)
	}
	if err := yaml.UnmarshalStrict(doc, typed); err != nil {
		return o, fmt.Errorf("%s: strict decode into %T: %v", o, typed, err)
	}
	o.Obj = typed
	return o, nil
}

// k8sFS copies the repository's k8s/ tree into an in-memory file system
// at /k8s, so test kustomizations can be added next to it without
// touching the disk.
func k8sFS(t testing.TB) filesys.FileSystem {
	t.Helper()
	src := filepath.Join(repoRoot(t), "k8s")
	mem := filesys.MakeFsInMemory()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return mem.WriteFile(filepath.ToSlash(filepath.Join("/k8s", rel)), b)
	})
	if err != nil {
		t.Fatal(err)
	}
	return mem
}

// render builds the kustomization at dir and decodes every object
// strictly.
func render(fsys filesys.FileSystem, dir string) ([]object, error) {
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	var objs []object
	var errs []string
	for _, r := range m.Resources() {
		doc, err := r.AsYAML()
		if err != nil {
			return nil, err
		}
		o, err := decodeStrict(doc)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		objs = append(objs, o)
	}
	if len(errs) > 0 {
		return objs, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return objs, nil
}

// withComponents is a kustomization that adds the optional components to
// an overlay, as a user would in the overlay itself.
const withComponents = `namespace: sluice
resources: [../k8s/overlays/prod]
components: [../k8s/components/keda, ../k8s/components/servicemonitor]
`

// TestManifests renders every overlay, the prod overlay with the optional
// components and the replay Job, and checks the rules on each.
func TestManifests(t *testing.T) {
	fsys := k8sFS(t)
	if err := fsys.WriteFile("/with-components/kustomization.yaml", []byte(withComponents)); err != nil {
		t.Fatal(err)
	}
	overlays, err := fsys.ReadDir("/k8s/overlays")
	if err != nil || len(overlays) < 2 {
		t.Fatalf("k8s/overlays: %v %v, want at least dev and prod", overlays, err)
	}
	dirs := []string{"/with-components"}
	for _, o := range overlays {
		dirs = append(dirs, "/k8s/overlays/"+o)
	}
	for _, dir := range dirs {
		t.Run(strings.TrimPrefix(dir, "/k8s/overlays/"), func(t *testing.T) {
			objs, err := render(fsys, dir)
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			for _, o := range objs {
				kinds[o.Kind]++
			}
			t.Logf("%d objects: %v", len(objs), kinds)
			for _, p := range checkManifests(objs) {
				t.Error(p)
			}
			if dir == "/with-components" && (kinds["ScaledObject"] == 0 || kinds["ServiceMonitor"] == 0 || kinds["HorizontalPodAutoscaler"] != 0) {
				t.Errorf("components: want ScaledObjects and a ServiceMonitor and no HPA, got %v", kinds)
			}
			// The replay Job mounts the apply ConfigMap of the overlay it
			// runs next to.
			if strings.HasPrefix(dir, "/k8s/overlays/") {
				jobs, err := render(fsys, "/k8s/replay")
				if err != nil {
					t.Fatal(err)
				}
				ns := namespaceOf(objs)
				for _, j := range jobs {
					if job, ok := j.Obj.(*batchv1.Job); ok {
						job.Namespace = ns // kubectl -n <overlay's namespace> create -k k8s/replay
					}
				}
				for _, p := range checkManifests(append(withoutWorkloads(objs), jobs...)) {
					t.Errorf("replay Job: %s", p)
				}
			}
		})
	}
}

// namespaceOf is the namespace an overlay puts its objects in.
func namespaceOf(objs []object) string {
	for _, o := range objs {
		if o.Namespace != "" {
			return o.Namespace
		}
	}
	return ""
}

// withoutWorkloads keeps the objects a Job can refer to (ConfigMaps,
// NetworkPolicies, the capture config for the partition count).
func withoutWorkloads(objs []object) []object {
	var out []object
	for _, o := range objs {
		switch o.Obj.(type) {
		case *appsv1.Deployment:
			if d := o.Obj.(*appsv1.Deployment); appName(d.Spec.Template.Labels) == "capture" {
				out = append(out, o) // its ConfigMap names the partitions
			}
		case *autoscalingv2.HorizontalPodAutoscaler, *policyv1.PodDisruptionBudget, *scaledObject:
		default:
			out = append(out, o)
		}
	}
	return out
}

// TestManifestRulesCatchBreakage applies each testdata/k8s-bad/*.yaml to
// the dev overlay (as a patch, or with "# as: resource" as an extra
// object) and expects the failure its "# want:" line names: every rule is
// shown to fail when it should.
func TestManifestRulesCatchBreakage(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "k8s-bad", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/k8s-bad cases: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want, as := header(b, "want"), header(b, "as")
			if want == "" {
				t.Fatalf("%s: no \"# want:\" line", f)
			}
			fsys := k8sFS(t)
			kust := "namespace: sluice-dev\nresources: [../k8s/overlays/dev]\npatches:\n  - path: case.yaml\n"
			if as == "resource" {
				kust = "namespace: sluice-dev\nresources: [../k8s/overlays/dev, case.yaml]\n"
			}
			if err := fsys.WriteFile("/case/kustomization.yaml", []byte(kust)); err != nil {
				t.Fatal(err)
			}
			if err := fsys.WriteFile("/case/case.yaml", b); err != nil {
				t.Fatal(err)
			}
			var problems []string
			objs, err := render(fsys, "/case")
			if err != nil {
				problems = append(problems, err.Error())
			} else {
				problems = checkManifests(objs)
			}
			if !anyContains(problems, want) {
				t.Errorf("want a problem containing %q, got:\n%s", want, strings.Join(problems, "\n"))
			}
		})
	}
}

// header returns the value of a "# key: value" line at the top of b.
func header(b []byte, key string) string {
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "#") {
			break
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(strings.TrimPrefix(line, "#")), key+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func anyContains(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func TestDecodeStrictRejectsUnknownFields(t *testing.T) {
	for name, doc := range map[string]string{
		"typo in a Deployment": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replica: 1}\n",
		"mistyped value":       "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: \"one\"}\n",
		"duplicate field":      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\ndata: {c: d}\n",
		"unknown kind":         "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: x}\n",
		"typo in a KEDA field": "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: x}\nspec: {maxReplicas: 3}\n",
	} {
		if _, err := decodeStrict([]byte(doc)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
	if _, err := decodeStrict([]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: 1}\n")); err != nil {
		t.Errorf("valid Deployment: %v", err)
	}
}

// portMatches reports whether a probe or annotation port names one of the
// container's ports.
func portMatches(p intstr.IntOrString, ports []corev1.ContainerPort) bool {
	for _, cp := range ports {
		if (p.Type == intstr.String && p.StrVal == cp.Name) || (p.Type == intstr.Int && p.IntVal == cp.ContainerPort) {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
