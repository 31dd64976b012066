package schemas

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format"
)

// columnsOf reads the sluice.types header (already schema-checked) with the
// codecs' own parser, so the kinds are the ones apply will use.
func columnsOf(types string) (map[string]event.Column, []event.Column, error) {
	cols, err := format.ParseTypes([]byte(types))
	if err != nil {
		return nil, nil, fmt.Errorf("headers: %w", err)
	}
	byName := make(map[string]event.Column, len(cols))
	for _, c := range cols {
		byName[c.Name] = c
	}
	return byName, cols, nil
}

// class is the $defs/col-<class> a column's values follow in a style.
func class(style string, c event.Column) string {
	if style == DebeziumValue && c.Kind == event.Bit && bitWidth(c.Type) == 1 {
		return "bit1" // Debezium writes BIT(1) as a boolean, wider BITs as bytes
	}
	return c.Kind.String()
}

// bitWidth reads n from "bit(n)"; MySQL's bare "bit" is BIT(1).
func bitWidth(t string) int {
	rest, ok := strings.CutPrefix(strings.ToLower(strings.TrimSpace(t)), "bit(")
	if !ok {
		return 1
	}
	n, _ := strconv.Atoi(strings.TrimSuffix(rest, ")"))
	return n
}

// checkRow checks every value of a row image (data, old, before, after)
// against its column's type. complete asks that every typed column appear:
// Maxwell images are always whole (the encoder refuses an unknown value),
// while Debezium images leave out values the binlog did not carry.
//
// A column that sluice.types does not list is an error, not a skip: apply
// would have to guess its kind, which is what the header exists to prevent.
func (s *Set) checkRow(style, where string, row map[string]any, cols map[string]event.Column, order []event.Column, complete bool) error {
	for _, name := range sortedKeys(row) {
		c, ok := cols[name]
		if !ok {
			return fmt.Errorf("%s has column %q, which %s does not list", where, name, format.HeaderTypes)
		}
		sch := s.columns[style][class(style, c)]
		if sch == nil {
			return fmt.Errorf("%s.%s: %s has no $defs/col-%s for type %q", where, name, style, class(style, c), c.Type)
		}
		if err := sch.Validate(row[name]); err != nil {
			return fmt.Errorf("%s.%s is not how %s encodes %s: %w", where, name, style, c.Type, err)
		}
	}
	if complete {
		for _, c := range order {
			if _, ok := row[c.Name]; !ok {
				return fmt.Errorf("%s lacks column %q listed in %s; a row image is complete", where, c.Name, format.HeaderTypes)
			}
		}
	}
	return nil
}

// checkMaxwell checks a Maxwell-style record beyond its schemas: values
// against types, full row images, primary_key against data, key against row.
func (s *Set) checkMaxwell(key, val map[string]any, types string) error {
	cols, order, err := columnsOf(types)
	if err != nil {
		return err
	}
	// The key routes the record to its partition; one that disagrees with
	// the body would put a row's changes in two partitions (G2).
	for _, f := range []string{"database", "table"} {
		if key[f] != val[f] {
			return fmt.Errorf("key: %s %v differs from the value's %v", f, key[f], val[f])
		}
	}
	data, _ := val["data"].(map[string]any)
	if typ := val["type"]; typ == "bootstrap-start" || typ == "bootstrap-complete" {
		for _, name := range sortedKeys(key) {
			if strings.HasPrefix(name, "pk.") && key[name] != nil {
				return fmt.Errorf("key: %s of a %s marker is %v; a marker has no row", name, typ, key[name])
			}
		}
		return nil
	}
	if err := s.checkRow(MaxwellValue, "data", data, cols, order, true); err != nil {
		return fmt.Errorf("value: %w", err)
	}
	if old, ok := val["old"].(map[string]any); ok {
		if err := s.checkRow(MaxwellValue, "old", old, cols, order, false); err != nil {
			return fmt.Errorf("value: %w", err)
		}
	}
	// Values are compared as parsed JSON with numbers kept as their text
	// (json.Number), so 1 and 1.0 differ: key and body come from one
	// encoder and must agree byte for byte in each value.
	pkCols, _ := val["primary_key_columns"].([]any)
	pkVals, _ := val["primary_key"].([]any)
	if len(pkCols) != len(pkVals) {
		return fmt.Errorf("value: primary_key has %d values for %d primary_key_columns", len(pkVals), len(pkCols))
	}
	want := map[string]any{}
	for i, c := range pkCols {
		name := c.(string)
		v, ok := data[name]
		if !ok {
			return fmt.Errorf("value: key column %q is not in data", name)
		}
		if !reflect.DeepEqual(pkVals[i], v) {
			return fmt.Errorf("value: primary_key[%d] = %v, but data.%s = %v", i, pkVals[i], name, v)
		}
		want["pk."+strings.ToLower(name)] = v // Maxwell lower-cases key names
	}
	// _uuid stands in for a key only on tables that have none.
	_, uuid := key["_uuid"]
	if uuid != (len(pkCols) == 0) {
		return fmt.Errorf("key: _uuid present = %v, but the table has %d key columns", uuid, len(pkCols))
	}
	for _, name := range sortedKeys(key) {
		if !strings.HasPrefix(name, "pk.") {
			continue
		}
		v, ok := want[name]
		if !ok {
			return fmt.Errorf("key: %s is not one of primary_key_columns", name)
		}
		if !reflect.DeepEqual(key[name], v) {
			return fmt.Errorf("key: %s = %v, but the row has %v", name, key[name], v)
		}
		delete(want, name)
	}
	if len(want) > 0 {
		return fmt.Errorf("key: %s missing", sortedKeys(want)[0])
	}
	return nil
}

// checkDebezium checks a Debezium-style row record beyond its schemas:
// values against types, and the key against the row it names.
func (s *Set) checkDebezium(key, val map[string]any, types string) error {
	cols, order, err := columnsOf(types)
	if err != nil {
		return err
	}
	key = unwrap(key)
	var row map[string]any
	if val != nil {
		val = unwrap(val)
		for _, f := range []string{"before", "after"} {
			if r, ok := val[f].(map[string]any); ok {
				if err := s.checkRow(DebeziumValue, f, r, cols, order, false); err != nil {
					return fmt.Errorf("value: %w", err)
				}
			}
		}
		// The key comes from the row that exists after the change, or the
		// deleted one; a key change arrives as delete + create, each keyed
		// by its own row.
		row, _ = val["after"].(map[string]any)
		if val["op"] == "d" {
			row, _ = val["before"].(map[string]any)
		}
	}
	// Key values are encoded as the row's are (a DECIMAL key is a string).
	if err := s.checkRow(DebeziumValue, "key", key, cols, order, false); err != nil {
		return fmt.Errorf("key: %w", err)
	}
	if row == nil {
		return nil // tombstone: the key alone
	}
	for _, name := range sortedKeys(key) {
		v, ok := row[name]
		if !ok {
			return fmt.Errorf("key: column %q is not in the row", name)
		}
		if !reflect.DeepEqual(key[name], v) {
			return fmt.Errorf("key: %s = %v, but the row has %v", name, key[name], v)
		}
	}
	return nil
}

// checkMongo checks that a MongoDB record's documents are canonical
// Extended JSON objects and that the key is their _id.
func checkMongo(key, val map[string]any) error {
	key = unwrap(key)
	idText, _ := key["id"].(string)
	id, err := parse([]byte(idText))
	if err != nil {
		return fmt.Errorf("key: id: %w", err)
	}
	if err := canonical(id, "id"); err != nil {
		return fmt.Errorf("key: %w", err)
	}
	if val == nil {
		return nil
	}
	docs := map[string]any{"before": val["before"], "after": val["after"]}
	if ud, ok := val["updateDescription"].(map[string]any); ok {
		docs["updateDescription.updatedFields"] = ud["updatedFields"]
	}
	for _, where := range sortedKeys(docs) {
		text, ok := docs[where].(string)
		if !ok {
			continue
		}
		doc, err := parse([]byte(text))
		if err != nil {
			return fmt.Errorf("value: %s: %w", where, err)
		}
		if err := canonical(doc, where); err != nil {
			return fmt.Errorf("value: %w", err)
		}
		// _id is compared with its BSON type: {"$numberInt":"12"} and
		// {"$numberLong":"12"} are different documents in MongoDB.
		if where == "before" || where == "after" {
			if docID := doc.(map[string]any)["_id"]; !reflect.DeepEqual(docID, id) {
				got, _ := json.Marshal(docID)
				return fmt.Errorf("value: %s._id is %s, but the key's id is %s", where, got, idText)
			}
		}
	}
	return nil
}

// canonical reports where v departs from canonical (not relaxed) Extended
// JSON v2: there every number is wrapped in $numberInt, $numberLong,
// $numberDouble or $numberDecimal with a string inside, and dates are
// {"$date":{"$numberLong":...}}; only $timestamp's t and i are bare.
func canonical(v any, path string) error {
	switch x := v.(type) {
	case json.Number:
		return fmt.Errorf("%s: bare number %s; canonical Extended JSON wraps numbers ($numberInt, $numberLong, $numberDouble, $numberDecimal)", path, x)
	case []any:
		for i, e := range x {
			if err := canonical(e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case map[string]any:
		if ts, ok := x["$timestamp"].(map[string]any); ok && len(x) == 1 {
			for _, f := range []string{"t", "i"} {
				if _, ok := ts[f].(json.Number); !ok {
					return fmt.Errorf("%s.$timestamp.%s: want a number", path, f)
				}
			}
			return nil
		}
		for _, k := range sortedKeys(x) {
			switch k {
			case "$numberInt", "$numberLong", "$numberDouble", "$numberDecimal":
				if _, ok := x[k].(string); !ok || len(x) != 1 {
					return fmt.Errorf("%s: %s must be the only member and a string", path, k)
				}
			case "$date":
				if d, ok := x[k].(map[string]any); !ok || len(d) != 1 || d["$numberLong"] == nil {
					return fmt.Errorf("%s: $date must be {\"$numberLong\":...} in canonical Extended JSON", path)
				}
			}
			if err := canonical(x[k], path+"."+k); err != nil {
				return err
			}
		}
	}
	return nil
}

// unwrap returns the payload of a Kafka Connect {"schema","payload"} wrapper.
func unwrap(m map[string]any) map[string]any {
	if p, ok := m["payload"].(map[string]any); ok && len(m) == 2 && m["schema"] != nil {
		return p
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
