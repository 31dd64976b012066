package config

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "1", "EMPTY": "", "REF": "${A}"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct{ in, want, err string }{
		{"${A}", "1", ""},
		{"x${A}y${A}", "x1y1", ""},
		{"${EMPTY}", "", ""},                  // set but empty is not missing
		{"${EMPTY:-d}", "d", ""},              // :- as in sh: unset or empty
		{"${NOPE:-d e}", "d e", ""},           // default with a space
		{"${NOPE:-}", "", ""},                 // explicit empty default
		{"${NOPE:-a:-b}", "a:-b", ""},         // only the first :- splits
		{"${REF}", "${A}", ""},                // values are not expanded again
		{"$$A $5 $ end$", "$A $5 $ end$", ""}, // $$ escapes, a lone $ is literal
		{"$${A}", "${A}", ""},
		{"${NOPE}", "", "environment variable NOPE is not set"},
		{"${1X}", "", "invalid reference ${1X}"},
		{"${A-B}", "", "invalid reference ${A-B}"},
		{"${}", "", "invalid reference ${}"},
		{"a ${A", "", `unterminated "${A"`},
	}
	for _, tt := range tests {
		got, errs := expand(tt.in, lookup)
		if tt.err != "" {
			if len(errs) != 1 || !strings.Contains(errs[0].msg, tt.err) {
				t.Errorf("expand(%q) errs = %v, want %q", tt.in, errs, tt.err)
			}
			continue
		}
		if len(errs) != 0 || got != tt.want {
			t.Errorf("expand(%q) = %q, %v; want %q", tt.in, got, errs, tt.want)
		}
	}
	if _, errs := expand("${X1} ${X2}", lookup); len(errs) != 2 {
		t.Errorf("want both missing variables reported, got %v", errs)
	}
}

// Only values are expanded, each once, and plain scalars are retyped by
// their new text while quoted ones stay strings.
func TestExpandTree(t *testing.T) {
	src := "# ${IN_COMMENT}\n${KEY}: 1\nport: ${PORT}\nquoted: \"${PORT}\"\nlist:\n- ${PORT}\n- x\nblock: |\n  one\n  ${MISSING}\n"
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(src), &root); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PORT": "9092", "KEY": "k", "IN_COMMENT": "c"}
	var probs []Problem
	expandTree(&root, "", func(k string) (string, bool) { v, ok := env[k]; return v, ok }, &probs)
	if len(probs) != 1 || probs[0].Path != "block" || probs[0].Line != 10 {
		t.Fatalf("problems = %+v, want MISSING at block line 10", probs)
	}
	var v struct {
		Key    int    `yaml:"${KEY}"`
		Port   int    `yaml:"port"`
		Quoted string `yaml:"quoted"`
		List   []any  `yaml:"list"`
	}
	if err := root.Decode(&v); err != nil {
		t.Fatal(err)
	}
	if v.Key != 1 || v.Port != 9092 || v.Quoted != "9092" || v.List[0] != 9092 {
		t.Errorf("decoded %+v", v)
	}
	out, err := yaml.Marshal(&root)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "# ${IN_COMMENT}\n") || !strings.Contains(string(out), "${KEY}: 1\n") {
		t.Errorf("comment or key was rewritten:\n%s", out)
	}
}
