package deploy

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// This is a static check: the metric names are read from the Go source
// that registers them (capture/internal/metrics, apply/internal/metrics),
// not scraped from running services. pkg cannot import those modules, and
// starting the services needs servers; the names in the source are the
// names /metrics serves, because client_golang exports a metric under the
// Name (or NewDesc name) it was registered with, and Namespace/Subsystem,
// which would prefix it, are refused below.

// metricSources are the packages that register Sluice's metrics.
var metricSources = []string{"capture/internal/metrics", "apply/internal/metrics"}

// registeredMetrics returns every series name the services export:
// counter and gauge names as registered, histograms with _bucket, _sum and
// _count, summaries with _sum and _count.
func registeredMetrics(t testing.TB, root string) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, dir := range metricSources {
		files, _ := filepath.Glob(filepath.Join(root, dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			for _, n := range metricsInFile(t, f) {
				names[n] = true
			}
		}
	}
	if len(names) == 0 {
		t.Fatalf("no metric registrations found in %v: did the packages move?", metricSources)
	}
	return names
}

// metricsInFile finds prometheus.NewDesc("name", ...) calls and
// prometheus.{Counter,Gauge,Histogram,Summary}Opts{Name: "name"} literals.
func metricsInFile(t testing.TB, file string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "NewDesc" && len(n.Args) > 0 {
				if s, ok := stringLit(n.Args[0]); ok {
					out = append(out, s)
				} else {
					t.Errorf("%s: NewDesc with a name that is not a string literal; extend this parser", file)
				}
			}
		case *ast.CompositeLit:
			sel, ok := n.Type.(*ast.SelectorExpr)
			if !ok || !strings.HasSuffix(sel.Sel.Name, "Opts") {
				return true
			}
			kind := strings.TrimSuffix(sel.Sel.Name, "Opts")
			for _, e := range n.Elts {
				kv, ok := e.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				key, _ := kv.Key.(*ast.Ident)
				if key == nil {
					continue
				}
				switch key.Name {
				case "Namespace", "Subsystem":
					t.Errorf("%s: %s set in %s; the name check does not handle prefixes, extend it", file, key.Name, sel.Sel.Name)
				case "Name":
					s, ok := stringLit(kv.Value)
					if !ok {
						t.Errorf("%s: %s Name is not a string literal; extend this parser", file, sel.Sel.Name)
						continue
					}
					out = append(out, s)
					switch kind {
					case "Histogram":
						out = append(out, s+"_bucket", s+"_sum", s+"_count")
					case "Summary":
						out = append(out, s+"_sum", s+"_count")
					}
				}
			}
		}
		return true
	})
	return out
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// dashboard is the part of a Grafana dashboard that holds queries.
type dashboard struct {
	Panels     []dashPanel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type dashPanel struct {
	Title   string      `json:"title"`
	Type    string      `json:"type"`
	Panels  []dashPanel `json:"panels"` // collapsed rows
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// dashboardQueries returns "where: expr" pairs for every panel target and
// the metric of every label_values() template variable.
func dashboardQueries(raw []byte) (map[string][]string, error) {
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, err
	}
	out := map[string][]string{}
	var visit func(ps []dashPanel)
	visit = func(ps []dashPanel) {
		for _, p := range ps {
			visit(p.Panels)
			if p.Type == "row" {
				continue
			}
			where := "panel " + strconv.Quote(p.Title)
			if len(p.Targets) == 0 {
				out[where] = append(out[where], "") // reported as empty
			}
			for _, tg := range p.Targets {
				out[where] = append(out[where], promqlMetrics(tg.Expr)...)
				if strings.TrimSpace(tg.Expr) == "" {
					out[where] = append(out[where], "")
				}
			}
		}
	}
	visit(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if json.Unmarshal(v.Query, &q) != nil {
			_ = json.Unmarshal(v.Query, &q.Query) // older dashboards: a plain string
		}
		if m := labelValues.FindStringSubmatch(q.Query); m != nil {
			out["variable $"+v.Name] = promqlMetrics(m[1])
		}
	}
	return out, nil
}

// labelValues is Grafana's label_values(series, label) template query.
var labelValues = regexp.MustCompile(`^\s*label_values\(\s*(.+?)\s*,\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$`)

// promqlNotMetrics are PromQL words that look like metric names:
// aggregations (which may be followed by by/without before their
// parenthesis), binary operators and modifiers.
var promqlNotMetrics = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true, "limitk": true, "limit_ratio": true,
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "inf": true, "nan": true, "atan2": true,
}

// promqlLabelLists are modifiers followed by a parenthesised label list.
var promqlLabelLists = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}

// promqlMetrics lists the metric names a PromQL expression selects: the
// identifiers that are not functions, keywords or labels. Label matchers
// ({...}), ranges ([...]), strings, numbers and Grafana variables ($x,
// ${x}) are skipped.
func promqlMetrics(expr string) []string {
	var out []string
	s := expr
	skipTo := func(i int, open, close byte) int {
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case open:
				depth++
			case close:
				depth--
				if depth == 0 {
					return j + 1
				}
			case '"', '\'', '`':
				j = skipString(s, j) - 1
			}
		}
		return len(s)
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			i = skipString(s, i)
		case c == '{':
			i = skipTo(i, '{', '}')
		case c == '[':
			i = skipTo(i, '[', ']')
		case c == '$':
			i++
			if i < len(s) && s[i] == '{' {
				i = skipTo(i, '{', '}')
			}
			for i < len(s) && isIdentChar(s[i]) {
				i++
			}
		case c >= '0' && c <= '9' || c == '.':
			for i < len(s) && (isIdentChar(s[i]) || s[i] == '.') {
				i++ // numbers and durations (5m, 1e3)
			}
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdentChar(s[j]) {
				j++
			}
			word := s[i:j]
			k := j
			for k < len(s) && (s[k] == ' ' || s[k] == '\t' || s[k] == '\n') {
				k++
			}
			switch {
			case promqlLabelLists[word]:
				if k < len(s) && s[k] == '(' {
					j = skipTo(k, '(', ')')
				}
			case k < len(s) && s[k] == '(':
				// a function call
			case promqlNotMetrics[strings.ToLower(word)]:
			default:
				out = append(out, word)
			}
			i = j
		default:
			i++
		}
	}
	return out
}

func skipString(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		if s[j] == '\\' && q != '`' {
			j++
			continue
		}
		if s[j] == q {
			return j + 1
		}
	}
	return len(s)
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

// dashboardProblems lists queries of raw that use a metric not in known,
// and panels without a query.
func dashboardProblems(raw []byte, known map[string]bool) ([]string, map[string]bool, error) {
	queries, err := dashboardQueries(raw)
	if err != nil {
		return nil, nil, err
	}
	used := map[string]bool{}
	var p problems
	for _, where := range sortedKeys(queries) {
		for _, m := range queries[where] {
			switch {
			case m == "":
				p.add("%s: a target without a query", where)
			case !known[m]:
				p.add("%s: metric %s is not registered by capture or apply", where, m)
			default:
				used[m] = true
			}
		}
	}
	return p, used, nil
}

func TestDashboardMetricsExist(t *testing.T) {
	root := repoRoot(t)
	known := registeredMetrics(t, root)
	raw, err := os.ReadFile(filepath.Join(root, "deploy", "grafana", "sluice.json"))
	if err != nil {
		t.Fatal(err)
	}
	probs, used, err := dashboardProblems(raw, known)
	if err != nil {
		t.Fatalf("deploy/grafana/sluice.json: %v", err)
	}
	for _, p := range probs {
		t.Error(p)
	}
	t.Logf("%d metrics registered, %d used by the dashboard", len(known), len(used))
	// What the dashboard must show (issue 7): capture rate, source lag,
	// time to purge, consumer lag, apply rate, batch sizes, errors; the
	// DLQ count is sluice_apply_errors_total{kind="dlq"}.
	for _, m := range []string{
		"sluice_capture_events_total", "sluice_capture_source_lag_seconds", "sluice_capture_time_to_purge_seconds",
		"sluice_apply_consumer_lag", "sluice_apply_rows_total", "sluice_apply_batch_rows_bucket",
		"sluice_capture_errors_total", "sluice_apply_errors_total",
	} {
		if !used[m] {
			t.Errorf("the dashboard does not show %s", m)
		}
	}
	if !strings.Contains(string(raw), `kind=\"dlq\"`) {
		t.Error(`the dashboard has no DLQ panel (sluice_apply_errors_total{kind="dlq"})`)
	}
}

// TestDashboardCheckCatchesUnknownMetrics shows the check fails on a
// dashboard that queries a metric nobody registers.
func TestDashboardCheckCatchesUnknownMetrics(t *testing.T) {
	known := registeredMetrics(t, repoRoot(t))
	raw, err := os.ReadFile(filepath.Join("testdata", "dashboard-bad.json"))
	if err != nil {
		t.Fatal(err)
	}
	probs, _, err := dashboardProblems(raw, known)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`panel "DLQ": metric sluice_apply_dlq_total is not registered by capture or apply`,
		`panel "empty": a target without a query`,
		`panel "typo in a collapsed row": metric sluice_capture_source_lag is not registered by capture or apply`,
		`variable $group: metric sluice_apply_groups is not registered by capture or apply`,
	}
	if !slices.Equal(probs, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(probs, "\n"), strings.Join(want, "\n"))
	}
}

func TestPromQLMetrics(t *testing.T) {
	for expr, want := range map[string][]string{
		`rate(a_total[5m])`: {"a_total"},
		`sum by (group, le) (rate(h_bucket{group=~"$group"}[$__rate_interval]))`: {"h_bucket"},
		`histogram_quantile(0.99, sum without (pod) (rate(h_bucket[1m])))`:       {"h_bucket"},
		`sum(rate(x_sum[5m])) / sum(rate(x_count[5m])) > 0`:                      {"x_sum", "x_count"},
		`a + on (topic) group_left (partition) b offset 5m`:                      {"a", "b"},
		`max(lag{kind="sum (x)", t='y'}) and bool up`:                            {"lag", "up"},
		`increase(e_total{kind="dlq"}[$__range])`:                                {"e_total"},
		`count_values("v", m) or vector(1)`:                                      {"m"},
		`${metric_var} + 1e3`:                                                    nil,
		`job:rate5m:sum`:                                                         {"job:rate5m:sum"},
	} {
		if got := promqlMetrics(expr); !slices.Equal(got, want) {
			t.Errorf("promqlMetrics(%q) = %q, want %q", expr, got, want)
		}
	}
}
