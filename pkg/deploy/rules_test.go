package deploy

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// defaultShutdownTimeout is capture's and apply's shutdown_timeout when
// the config does not set it (capture/internal/app, apply/internal/app).
const defaultShutdownTimeout = 30 * time.Second

// manifests indexes one rendered set of objects by kind.
type manifests struct {
	deployments []*appsv1.Deployment
	jobs        []*batchv1.Job
	configMaps  map[string]*corev1.ConfigMap // namespace/name
	hpas        []*autoscalingv2.HorizontalPodAutoscaler
	pdbs        []*policyv1.PodDisruptionBudget
	scaled      []*scaledObject
	netpols     []*networkingv1.NetworkPolicy
	secrets     []*corev1.Secret
}

func index(objs []object) *manifests {
	m := &manifests{configMaps: map[string]*corev1.ConfigMap{}}
	for _, o := range objs {
		switch v := o.Obj.(type) {
		case *appsv1.Deployment:
			m.deployments = append(m.deployments, v)
		case *batchv1.Job:
			m.jobs = append(m.jobs, v)
		case *corev1.ConfigMap:
			m.configMaps[v.Namespace+"/"+v.Name] = v
		case *autoscalingv2.HorizontalPodAutoscaler:
			m.hpas = append(m.hpas, v)
		case *policyv1.PodDisruptionBudget:
			m.pdbs = append(m.pdbs, v)
		case *scaledObject:
			m.scaled = append(m.scaled, v)
		case *networkingv1.NetworkPolicy:
			m.netpols = append(m.netpols, v)
		case *corev1.Secret:
			m.secrets = append(m.secrets, v)
		}
	}
	return m
}

// appName is the app.kubernetes.io/name label: capture or apply.
func appName(l map[string]string) string { return l["app.kubernetes.io/name"] }

// checkManifests returns every rule a set of rendered objects breaks.
func checkManifests(objs []object) []string {
	m := index(objs)
	var p problems

	for _, s := range m.secrets {
		p.add("Secret %s: secrets are created out of band (kubectl create secret), never kept in the manifests", s.Name)
	}
	for _, key := range sortedKeys(m.configMaps) {
		cm := m.configMaps[key]
		for _, k := range sortedKeys(cm.Data) {
			for _, s := range secretProblems(cm.Data[k]) {
				p.add("ConfigMap %s key %s: %s", cm.Name, k, s)
			}
		}
	}

	// Partitions per topic, declared in the capture config: the bound for
	// apply replicas.
	partitions := int32(-1)
	captures := 0
	for _, d := range m.deployments {
		if appName(d.Spec.Template.Labels) != "capture" {
			continue
		}
		captures++
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
			p.add("Deployment %s: capture replicas %s, want exactly 1 (a single writer per source)", d.Name, ptrString(d.Spec.Replicas))
		}
		if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			p.add("Deployment %s: capture strategy %q, want Recreate (never two captures during a rollout)", d.Name, d.Spec.Strategy.Type)
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			cfg, _, _ := m.podConfig(d.Namespace, &d.Spec.Template.Spec, &c)
			if cfg == nil {
				continue
			}
			n, ok := intAt(cfg, "topics", "partitions")
			if !ok || n < 1 {
				p.add("Deployment %s: capture config must declare topics.partitions (> 0) so apply replicas can be bounded", d.Name)
				continue
			}
			if partitions < 0 || int32(n) < partitions {
				partitions = int32(n)
			}
		}
		for _, h := range m.hpas {
			if h.Spec.ScaleTargetRef.Name == d.Name {
				p.add("HorizontalPodAutoscaler %s scales capture: capture must stay at one replica", h.Name)
			}
		}
	}

	for _, d := range m.deployments {
		app := appName(d.Spec.Template.Labels)
		if app != "capture" && app != "apply" {
			p.add("Deployment %s: pod label app.kubernetes.io/name is %q, want capture or apply", d.Name, app)
		}
		spec := &d.Spec.Template.Spec
		where := "Deployment " + d.Name
		m.checkPod(&p, where, d.Namespace, spec, true)
		if a := d.Spec.Template.Annotations; a["prometheus.io/scrape"] != "true" || !portMatches(intstr.Parse(a["prometheus.io/port"]), allPorts(spec)) {
			p.add("%s: pod template needs prometheus.io/scrape: \"true\" and prometheus.io/port naming a container port", where)
		}
		if !m.networkPolicyCovers(d.Namespace, d.Spec.Template.Labels) {
			p.add("%s: no NetworkPolicy selects its pods", where)
		}
		if app == "apply" {
			m.checkApply(&p, d, partitions, captures)
		}
	}
	for _, j := range m.jobs {
		m.checkPod(&p, "Job "+j.Name, j.Namespace, &j.Spec.Template.Spec, false)
	}
	return p
}

// checkApply checks one apply Deployment against its disruption budget,
// autoscaler and the partition count.
func (m *manifests) checkApply(p *problems, d *appsv1.Deployment, partitions int32, captures int) {
	where := "Deployment " + d.Name
	if captures == 0 || partitions < 1 {
		p.add("%s: no capture config declares topics.partitions, so replicas <= partitions cannot be checked", where)
		partitions = 1 << 30
	}
	if r := ptrOr(d.Spec.Replicas, 1); r > partitions {
		p.add("%s: replicas %d > %d partitions (members beyond the partition count stay idle)", where, r, partitions)
	}
	pdbs := 0
	for _, b := range m.pdbs {
		if b.Namespace == d.Namespace && selects(b.Spec.Selector, d.Spec.Template.Labels) {
			pdbs++
		}
	}
	if pdbs != 1 {
		p.add("%s: %d PodDisruptionBudgets select its pods, want 1", where, pdbs)
	}
	var group string
	if c := firstContainer(&d.Spec.Template.Spec); c != nil {
		if cfg, _, _ := m.podConfig(d.Namespace, &d.Spec.Template.Spec, c); cfg != nil {
			group, _ = cfg["group"].(string)
		}
	}
	scalers := 0
	for _, h := range m.hpas {
		if h.Namespace != d.Namespace || h.Spec.ScaleTargetRef.Kind != "Deployment" || h.Spec.ScaleTargetRef.Name != d.Name {
			continue
		}
		scalers++
		if h.Spec.MaxReplicas > partitions {
			p.add("HorizontalPodAutoscaler %s: maxReplicas %d > %d partitions", h.Name, h.Spec.MaxReplicas, partitions)
		}
		if ptrOr(h.Spec.MinReplicas, 1) > h.Spec.MaxReplicas {
			p.add("HorizontalPodAutoscaler %s: minReplicas above maxReplicas", h.Name)
		}
		cpu := false
		for _, ms := range h.Spec.Metrics {
			cpu = cpu || (ms.Type == autoscalingv2.ResourceMetricSourceType && ms.Resource != nil && ms.Resource.Name == corev1.ResourceCPU)
		}
		if !cpu {
			p.add("HorizontalPodAutoscaler %s: no CPU resource metric", h.Name)
		}
	}
	for _, s := range m.scaled {
		ref := s.Spec.ScaleTargetRef
		if s.Metadata.Namespace != d.Namespace || ref.Name != d.Name || (ref.Kind != "" && ref.Kind != "Deployment") {
			continue
		}
		scalers++
		if s.Spec.MaxReplicaCount == nil || *s.Spec.MaxReplicaCount > partitions {
			p.add("ScaledObject %s: maxReplicaCount %s > %d partitions (KEDA's default is 100)", s.Metadata.Name, ptrString(s.Spec.MaxReplicaCount), partitions)
		}
		for _, tr := range s.Spec.Triggers {
			if tr.Type == "kafka" && tr.Metadata["consumerGroup"] != group {
				p.add("ScaledObject %s: kafka trigger consumerGroup %q, but the Deployment's config has group %q", s.Metadata.Name, tr.Metadata["consumerGroup"], group)
			}
		}
	}
	if scalers != 1 {
		p.add("%s: %d autoscalers (HorizontalPodAutoscaler or ScaledObject) target it, want exactly 1", where, scalers)
	}
}

// checkPod checks what every Sluice pod needs: its config from a
// ConfigMap, the environment its config refers to, requests and limits,
// non-root, and for long-running pods probes and a grace period above the
// config's shutdown_timeout.
func (m *manifests) checkPod(p *problems, where, ns string, spec *corev1.PodSpec, longRunning bool) {
	nonRoot := spec.SecurityContext != nil && spec.SecurityContext.RunAsNonRoot != nil && *spec.SecurityContext.RunAsNonRoot
	if len(spec.Containers) == 0 {
		p.add("%s: no containers", where)
	}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		cw := fmt.Sprintf("%s container %s", where, c.Name)
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Requests[res]; !ok {
				p.add("%s: no %s request", cw, res)
			}
			if _, ok := c.Resources.Limits[res]; !ok {
				p.add("%s: no %s limit", cw, res)
			}
		}
		if !nonRoot && (c.SecurityContext == nil || c.SecurityContext.RunAsNonRoot == nil || !*c.SecurityContext.RunAsNonRoot) {
			p.add("%s: runAsNonRoot is not set", cw)
		}
		cfg, cfgWhere, err := m.podConfig(ns, spec, c)
		if err != nil {
			p.add("%s: %v", cw, err)
			continue
		}
		env := map[string]bool{}
		for _, e := range c.Env {
			env[e.Name] = true
		}
		for _, v := range envRefs(cfg) {
			if !env[v] {
				p.add("%s: %s refers to ${%s}, which the container's env does not set", cw, cfgWhere, v)
			}
		}
		if !longRunning {
			continue
		}
		checkProbe(p, cw, "readinessProbe", c.ReadinessProbe, "/readyz", c.Ports)
		checkProbe(p, cw, "livenessProbe", c.LivenessProbe, "/healthz", c.Ports)
		shutdown := defaultShutdownTimeout
		if s, ok := cfg["shutdown_timeout"].(string); ok {
			if shutdown, err = time.ParseDuration(s); err != nil {
				p.add("%s: %s shutdown_timeout %q: %v", cw, cfgWhere, s, err)
			}
		}
		if g := spec.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= shutdown {
			p.add("%s: terminationGracePeriodSeconds %s must be above shutdown_timeout %s of %s", where, ptrString(g), shutdown, cfgWhere)
		}
	}
}

func checkProbe(p *problems, where, name string, pr *corev1.Probe, path string, ports []corev1.ContainerPort) {
	switch {
	case pr == nil:
		p.add("%s: no %s", where, name)
	case pr.HTTPGet == nil || pr.HTTPGet.Path != path:
		p.add("%s: %s must be an HTTP GET of %s", where, name, path)
	case !portMatches(pr.HTTPGet.Port, ports):
		p.add("%s: %s port %s is not a container port", where, name, pr.HTTPGet.Port.String())
	}
}

// podConfig finds the file that --config names among the container's
// ConfigMap mounts and parses it. where names it for messages.
func (m *manifests) podConfig(ns string, spec *corev1.PodSpec, c *corev1.Container) (cfg map[string]any, where string, err error) {
	file := flagValue(append(append([]string{}, c.Command...), c.Args...), "config")
	if file == "" {
		return nil, "", fmt.Errorf("no --config argument: the config must come from a mounted ConfigMap")
	}
	for _, vm := range c.VolumeMounts {
		rel, ok := strings.CutPrefix(file, strings.TrimSuffix(vm.MountPath, "/")+"/")
		if !ok {
			continue
		}
		for _, v := range spec.Volumes {
			if v.Name != vm.Name || v.ConfigMap == nil {
				continue
			}
			key := rel
			for _, it := range v.ConfigMap.Items {
				if it.Path == rel {
					key = it.Key
				}
			}
			cm := m.configMaps[ns+"/"+v.ConfigMap.Name]
			if cm == nil {
				return nil, "", fmt.Errorf("--config %s: ConfigMap %s is not in the manifests", file, v.ConfigMap.Name)
			}
			text, ok := cm.Data[key]
			if !ok {
				return nil, "", fmt.Errorf("--config %s: ConfigMap %s has no key %s", file, cm.Name, key)
			}
			where = fmt.Sprintf("ConfigMap %s key %s", cm.Name, key)
			if err := yaml.Unmarshal([]byte(text), &cfg); err != nil {
				return nil, "", fmt.Errorf("%s: %v", where, err)
			}
			return cfg, where, nil
		}
	}
	return nil, "", fmt.Errorf("--config %s is not in a mounted ConfigMap", file)
}

// flagValue finds --name value, --name=value, -name value or -name=value.
func flagValue(args []string, name string) string {
	for i, a := range args {
		for _, pre := range []string{"--" + name, "-" + name} {
			if a == pre && i+1 < len(args) {
				return args[i+1]
			}
			if v, ok := strings.CutPrefix(a, pre+"="); ok {
				return v
			}
		}
	}
	return ""
}

func (m *manifests) networkPolicyCovers(ns string, podLabels map[string]string) bool {
	for _, np := range m.netpols {
		if np.Namespace == ns && selects(&np.Spec.PodSelector, podLabels) {
			return true
		}
	}
	return false
}

func selects(sel *metav1.LabelSelector, l map[string]string) bool {
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && !s.Empty() && s.Matches(labels.Set(l))
}

func allPorts(spec *corev1.PodSpec) []corev1.ContainerPort {
	var ports []corev1.ContainerPort
	for _, c := range spec.Containers {
		ports = append(ports, c.Ports...)
	}
	return ports
}

func firstContainer(spec *corev1.PodSpec) *corev1.Container {
	if len(spec.Containers) == 0 {
		return nil
	}
	return &spec.Containers[0]
}

// Secrets in config files. A secret-bearing key must hold a whole
// environment reference, "${NAME}" (no default: a default would be a
// literal secret), or {file: path}; and no string anywhere may carry
// credentials in a URL or a MySQL DSN.
var (
	secretKey   = regexp.MustCompile(`(?i)^(password|passwd|pass|dsn|uri|token|secret|.*_(password|token|secret|key))$`)
	wholeEnvRef = regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*\}$`)
	urlCreds    = regexp.MustCompile(`://[^/\s:@]+:[^@\s/]+@`)
	mysqlCreds  = regexp.MustCompile(`[^\s:/@]+:[^@\s]+@(tcp|unix)\(`)
	envRef      = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}`)
)

// secretProblems scans one config file (YAML) for secret values.
func secretProblems(text string) []string {
	var root any
	if err := yaml.Unmarshal([]byte(text), &root); err != nil {
		return nil // not YAML: only the string rules apply, below
	}
	var out []string
	walk(root, "", func(path, key string, v any) {
		s, isString := v.(string)
		if secretKey.MatchString(key) {
			switch {
			case isString && (s == "" || wholeEnvRef.MatchString(s)):
			case !isString && isFileRef(v):
			default:
				out = append(out, fmt.Sprintf("%s holds a literal value; use \"${ENV}\" from a Secret or {file: ...}", path))
				return
			}
		}
		if isString && !strings.Contains(s, "${") && (urlCreds.MatchString(s) || mysqlCreds.MatchString(s)) {
			out = append(out, fmt.Sprintf("%s carries credentials; put the whole DSN in a Secret and write \"${ENV}\"", path))
		}
	})
	return out
}

func isFileRef(v any) bool {
	m, ok := v.(map[string]any)
	_, hasFile := m["file"]
	return ok && len(m) == 1 && hasFile
}

// walk calls fn for every scalar and file-reference mapping of a decoded
// YAML tree, with its dotted path and its key.
func walk(v any, path string, fn func(path, key string, v any)) {
	key := path[strings.LastIndex(path, ".")+1:]
	switch t := v.(type) {
	case map[string]any:
		if isFileRef(t) {
			fn(path, key, t)
			return
		}
		for _, k := range sortedKeys(t) {
			walk(t[k], strings.TrimPrefix(path+"."+k, "."), fn)
		}
	case []any:
		for i, e := range t {
			walk(e, fmt.Sprintf("%s[%d]", path, i), fn)
		}
	default:
		fn(path, key, t)
	}
}

// envRefs lists the variables a config requires: ${NAME} without a
// default.
func envRefs(cfg map[string]any) []string {
	seen := map[string]bool{}
	var out []string
	walk(cfg, "", func(_, _ string, v any) {
		s, _ := v.(string)
		for _, m := range envRef.FindAllStringSubmatch(s, -1) {
			if m[2] == "" && !seen[m[1]] {
				seen[m[1]] = true
				out = append(out, m[1])
			}
		}
	})
	return out
}

// intAt reads an integer at a path of nested mappings.
func intAt(v map[string]any, keys ...string) (int, bool) {
	var cur any = v
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return 0, false
		}
		cur = m[k]
	}
	n, ok := cur.(int)
	return n, ok
}

type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func ptrOr(v *int32, def int32) int32 {
	if v == nil {
		return def
	}
	return *v
}

func ptrString[T any](v *T) string {
	if v == nil {
		return "unset"
	}
	return fmt.Sprint(*v)
}
