package debezium

import (
	"strconv"
	"strings"

	"github.com/sluice-cdc/sluice/pkg/event"
	"github.com/sluice-cdc/sluice/pkg/format/internal/jsonw"
)

// appendSchema writes the Kafka Connect schema of e's envelope, for the
// optional {"schema","payload"} wrapper. Logical type names are Debezium's
// where Debezium has a string form (isostring time mode, Json, Enum,
// EnumSet, Bits, Year, ZonedTimestamp), so Connect-aware consumers and our
// decoder both recover the column kinds from it.
func appendSchema(dst []byte, e *event.Event) []byte {
	prefix := e.Source.Name + "." + e.Database + "." + e.Table
	dst = append(dst, `{"type":"struct","fields":[`...)
	dst = appendRowSchema(dst, e, "before", prefix)
	dst = append(dst, ',')
	dst = appendRowSchema(dst, e, "after", prefix)
	dst = append(dst, `,{"type":"struct","fields":[`...)
	for i, f := range sourceFields {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"type":"`...)
		dst = append(dst, f[1]...)
		dst = append(dst, `","optional":`...)
		dst = jsonw.Bool(dst, f[2] == "opt")
		dst = append(dst, `,"field":"`...)
		dst = append(dst, f[0]...)
		dst = append(dst, `"}`...)
	}
	dst = append(dst, `],"optional":false,"name":"io.debezium.connector.mysql.Source","field":"source"}`...)
	dst = append(dst, `,{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"}`...)
	dst = append(dst, `,{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":false,"field":"total_order"},{"type":"int64","optional":false,"field":"data_collection_order"}],"optional":true,"name":"event.block","field":"transaction"}`...)
	dst = append(dst, `],"optional":false,"name":`...)
	dst = jsonw.String(dst, prefix+".Envelope")
	return append(dst, '}')
}

var sourceFields = [][3]string{
	{"version", "string", "req"}, {"connector", "string", "req"}, {"name", "string", "req"},
	{"ts_ms", "int64", "req"}, {"snapshot", "string", "opt"}, {"db", "string", "req"},
	{"table", "string", "opt"}, {"server_id", "int64", "req"}, {"gtid", "string", "opt"},
	{"file", "string", "req"}, {"pos", "int64", "req"}, {"row", "int32", "req"}, {"thread", "int64", "opt"},
}

func appendRowSchema(dst []byte, e *event.Event, field, prefix string) []byte {
	dst = append(dst, `{"type":"struct","fields":[`...)
	for i := range e.Columns {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendColumnSchema(dst, &e.Columns[i], isKey(e, i))
	}
	dst = append(dst, `],"optional":true,"name":`...)
	dst = jsonw.String(dst, prefix+".Value")
	dst = append(dst, `,"field":"`...)
	dst = append(dst, field...)
	return append(dst, `"}`...)
}

func isKey(e *event.Event, col int) bool {
	for _, k := range e.Key {
		if k == col {
			return true
		}
	}
	return false
}

// columnSchema returns the Connect type and logical name of a column.
func columnSchema(c *event.Column) (typ, name string) {
	switch c.Kind {
	case event.Int:
		return "int64", ""
	case event.Uint:
		// Connect has no unsigned type; values above MaxInt64 are written
		// exactly anyway, which Connect's JsonConverter would reject.
		return "int64", ""
	case event.Float:
		if floatBits(c) == 32 {
			return "float", ""
		}
		return "double", ""
	case event.Decimal:
		return "string", ""
	case event.Date:
		return "string", "io.debezium.time.IsoDate"
	case event.DateTime:
		return "string", "io.debezium.time.IsoTimestamp"
	case event.Timestamp:
		return "string", "io.debezium.time.ZonedTimestamp"
	case event.Time:
		return "string", "io.debezium.time.IsoTime"
	case event.Year:
		return "int32", "io.debezium.time.Year"
	case event.Bit:
		if bitWidth(c.Type) == 1 {
			return "boolean", ""
		}
		return "bytes", "io.debezium.data.Bits"
	case event.Enum:
		return "string", "io.debezium.data.Enum"
	case event.Set:
		return "string", "io.debezium.data.EnumSet"
	case event.JSON:
		return "string", "io.debezium.data.Json"
	case event.Bytes:
		return "bytes", ""
	}
	return "string", ""
}

func appendColumnSchema(dst []byte, c *event.Column, key bool) []byte {
	typ, name := columnSchema(c)
	dst = append(dst, `{"type":"`...)
	dst = append(dst, typ...)
	dst = append(dst, `","optional":`...)
	dst = jsonw.Bool(dst, !key)
	if name != "" {
		dst = append(dst, `,"name":"`...)
		dst = append(dst, name...)
		dst = append(dst, '"')
	}
	// The source type goes in Debezium's column.propagate.source.type
	// parameters: Connect has no unsigned or exact-decimal-as-string type,
	// and this is how a reader tells BIGINT UNSIGNED or DECIMAL apart.
	base, length, scale, unsigned := splitType(c.Type)
	dst = append(dst, `,"parameters":{`...)
	if c.Kind == event.Bit && bitWidth(c.Type) > 1 {
		dst = append(dst, `"length":"`...)
		dst = strconv.AppendInt(dst, int64(bitWidth(c.Type)), 10)
		dst = append(dst, `",`...)
	}
	if c.Kind == event.Enum || c.Kind == event.Set {
		// Debezium lists the labels in "allowed", comma-joined.
		dst = append(dst, `"allowed":`...)
		dst = jsonw.String(dst, strings.Join(enumLabels(c.Type), ","))
		dst = append(dst, ',')
	}
	typ = strings.ToUpper(base)
	if unsigned {
		typ += " UNSIGNED"
	}
	dst = append(dst, `"__debezium.source.column.type":`...)
	dst = jsonw.String(dst, typ)
	if length != "" {
		dst = append(dst, `,"__debezium.source.column.length":`...)
		dst = jsonw.String(dst, length)
	}
	if scale != "" {
		dst = append(dst, `,"__debezium.source.column.scale":`...)
		dst = jsonw.String(dst, scale)
	}
	dst = append(dst, '}')
	dst = append(dst, `,"field":`...)
	dst = jsonw.String(dst, c.Name)
	return append(dst, '}')
}

// splitType splits "decimal(20,6) unsigned" into its parts. ENUM and SET
// value lists are not lengths and are left out.
func splitType(t string) (base, length, scale string, unsigned bool) {
	t = strings.ToLower(strings.TrimSpace(t))
	unsigned = strings.Contains(t, " unsigned")
	base = t
	if i := strings.IndexAny(t, "( "); i >= 0 {
		base = t[:i]
	}
	if base == "enum" || base == "set" {
		return base, "", "", false
	}
	if i, j := strings.IndexByte(t, '('), strings.IndexByte(t, ')'); i >= 0 && j > i {
		length, scale, _ = strings.Cut(t[i+1:j], ",")
	}
	return base, length, scale, unsigned
}

// enumLabels returns the labels of "enum('a','it”s')" (or set(...)), with
// MySQL's doubled quotes undone.
func enumLabels(typ string) []string {
	i := strings.IndexByte(typ, '(')
	if i < 0 {
		return nil
	}
	var labels []string
	s := typ[i+1:]
	for len(s) > 0 && s[0] == '\'' {
		var b strings.Builder
		j := 1
		for ; j < len(s); j++ {
			if s[j] == '\'' {
				if j+1 < len(s) && s[j+1] == '\'' {
					b.WriteByte('\'')
					j++
					continue
				}
				break
			}
			b.WriteByte(s[j])
		}
		labels = append(labels, b.String())
		if j+1 >= len(s) || s[j+1] != ',' {
			break
		}
		s = s[j+2:]
	}
	return labels
}

// enumType is the inverse of enumLabels: base is "enum" or "set".
func enumType(base string, labels []string) string {
	var b strings.Builder
	b.WriteString(base)
	b.WriteByte('(')
	for i, l := range labels {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('\'')
		b.WriteString(strings.ReplaceAll(l, "'", "''"))
		b.WriteByte('\'')
	}
	b.WriteByte(')')
	return b.String()
}
