package config

import (
	"encoding"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// checkFields walks the tree against the Go type it will decode into and
// reports every mapping key that names no field, with its line and the
// fields that do exist. yaml's own KnownFields check works only on a
// Decoder reading bytes and stops at the first unknown key; the tree has
// been rewritten by expansion, so the check is done here, on the tree,
// where the original line numbers still are.
//
// It also records the line of every field path, so validation problems,
// which only know paths, can point at a line.
func checkFields(n *yaml.Node, t reflect.Type, path string, lines map[string]int, p *[]Problem) {
	c := fieldChecker{lines: lines, probs: p, following: map[*yaml.Node]bool{}}
	c.check(n, t, path)
}

type fieldChecker struct {
	lines map[string]int
	probs *[]Problem
	// following holds the aliases being followed: "&a [*a]" parses into
	// a cycle (the decoder rejects it later), which must not loop here.
	following map[*yaml.Node]bool
}

func (c *fieldChecker) check(n *yaml.Node, t reflect.Type, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if customDecoder(t) {
		return // a type that decodes itself owns its syntax
	}
	switch {
	case n.Kind == yaml.DocumentNode:
		for _, d := range n.Content {
			c.check(d, t, path)
		}
	case n.Kind == yaml.AliasNode:
		// The anchored value is checked again against the type it is used
		// as here.
		if n.Alias != nil && !c.following[n] {
			c.following[n] = true
			c.check(n.Alias, t, path)
			delete(c.following, n)
		}
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" && k.Tag == "!!merge" {
				c.merge(v, t, path)
				continue
			}
			kp := joinPath(path, k.Value)
			ft, ok := fields[k.Value]
			if !ok {
				ft, ok = fields[""] // an inline map takes any other key
			}
			if !ok {
				*c.probs = append(*c.probs, Problem{Path: kp, Line: k.Line, Msg: "unknown field (known: " + knownList(fields) + ")"})
				continue
			}
			c.lines[kp] = k.Line
			c.check(v, ft, kp)
		}
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Map:
		for i := 0; i+1 < len(n.Content); i += 2 {
			kp := joinPath(path, n.Content[i].Value)
			c.lines[kp] = n.Content[i].Line
			c.check(n.Content[i+1], t.Elem(), kp)
		}
	case n.Kind == yaml.SequenceNode && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
		for i, e := range n.Content {
			ip := path + "[" + strconv.Itoa(i) + "]"
			c.lines[ip] = e.Line
			c.check(e, t.Elem(), ip)
		}
	}
	// Any other combination is a type mismatch that decoding reports.
}

// merge handles "<<: *anchor" and "<<: [*a, *b]": the merged mappings'
// keys become keys of this mapping.
func (c *fieldChecker) merge(v *yaml.Node, t reflect.Type, path string) {
	switch v.Kind {
	case yaml.AliasNode:
		if v.Alias != nil && !c.following[v] {
			c.following[v] = true
			c.merge(v.Alias, t, path)
			delete(c.following, v)
		}
	case yaml.SequenceNode:
		for _, e := range v.Content {
			c.merge(e, t, path)
		}
	case yaml.MappingNode:
		c.check(v, t, path)
	}
}

var (
	yamlUnmarshaler = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func customDecoder(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return t.Implements(yamlUnmarshaler) || pt.Implements(yamlUnmarshaler) ||
		t.Implements(textUnmarshaler) || pt.Implements(textUnmarshaler)
}

// yamlFields maps each YAML key of struct t to its field type, following
// the yaml package's rules: the tag name, else the lower-cased field name;
// "-" skipped; ",inline" structs merged. An ",inline" map takes any other
// key; it is stored under "" with its element type.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.PkgPath != "" && !f.Anonymous {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, flags, _ := strings.Cut(tag, ",")
		if slices.Contains(strings.Split(flags, ","), "inline") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Map {
				out[""] = ft.Elem()
				continue
			}
			for k, v := range yamlFields(ft) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

func knownList(fields map[string]reflect.Type) string {
	names := make([]string, 0, len(fields))
	for k := range fields {
		if k != "" {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
