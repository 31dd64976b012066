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
		if bitWidth(c) == 1 {
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
	if c.Kind == event.Bit && bitWidth(c) > 1 {
		dst = append(dst, `"length":"`...)
		dst = strconv.AppendInt(dst, int64(bitWidth(c)), 10)
		dst = append(dst, `",`...)
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

// connectColumn maps a Connect field schema back to a column: the inverse
// of columnSchema, plus Debezium's default (non-string) logical types so
// genuine Debezium topics decode exactly.
func connectColumn(name, typ, logical string, params map[string]string) event.Column {
	col := event.Column{Name: name}
	set := func(k event.Kind, t string) { col.Kind, col.Type = k, t }
	switch logical {
	case "org.apache.kafka.connect.data.Decimal":
		set(event.Decimal, "decimal(65,"+params["scale"]+")")
	case "io.debezium.time.Date", "io.debezium.time.IsoDate", "org.apache.kafka.connect.data.Date":
		set(event.Date, "date")
	case "io.debezium.time.Timestamp", "org.apache.kafka.connect.data.Timestamp":
		set(event.DateTime, "datetime(3)")
	case "io.debezium.time.MicroTimestamp", "io.debezium.time.NanoTimestamp", "io.debezium.time.IsoTimestamp":
		set(event.DateTime, "datetime(6)")
	case "io.debezium.time.ZonedTimestamp":
		set(event.Timestamp, "timestamp(6)")
	case "io.debezium.time.Time", "org.apache.kafka.connect.data.Time":
		set(event.Time, "time(3)")
	case "io.debezium.time.MicroTime", "io.debezium.time.NanoTime", "io.debezium.time.IsoTime":
		set(event.Time, "time(6)")
	case "io.debezium.time.Year":
		set(event.Year, "year")
	case "io.debezium.data.Bits":
		set(event.Bit, "bit("+orDefault(params["length"], "64")+")")
	case "io.debezium.data.Json":
		set(event.JSON, "json")
	case "io.debezium.data.Enum":
		set(event.Enum, "enum")
	case "io.debezium.data.EnumSet":
		set(event.Set, "set")
	default:
		switch typ {
		case "int8", "int16", "int32", "int64":
			set(event.Int, "bigint")
		case "float", "float32":
			set(event.Float, "float")
		case "double", "float64":
			set(event.Float, "double")
		case "boolean":
			set(event.Bit, "bit(1)")
		case "bytes":
			set(event.Bytes, "blob")
		default:
			set(event.String, "text")
		}
	}
	return col
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

// refineBySourceType uses Debezium's propagated source type, when present,
// to recover what Connect types cannot say: unsigned integers and exact
// decimals carried as strings.
func refineBySourceType(col event.Column, params map[string]string) event.Column {
	st := strings.ToLower(params["__debezium.source.column.type"])
	if st == "" {
		return col
	}
	unsigned := strings.HasSuffix(st, " unsigned")
	base := strings.TrimSuffix(st, " unsigned")
	typ := base
	if l := params["__debezium.source.column.length"]; l != "" {
		typ += "(" + l
		if s := params["__debezium.source.column.scale"]; s != "" {
			typ += "," + s
		}
		typ += ")"
	}
	if unsigned {
		typ += " unsigned"
	}
	// Only these two refinements: for temporal columns the logical type
	// (not the source type) says which epoch unit a number is in.
	switch k := event.KindOf(typ); {
	case k == event.Uint && col.Kind == event.Int, k == event.Decimal && col.Kind == event.String:
		col.Kind, col.Type = k, typ
	}
	return col
}

func orDefault(s, d string) string {
	if strings.TrimSpace(s) == "" {
		return d
	}
	return s
}
