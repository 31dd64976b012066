package verify

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// SQLTable names a MySQL/MariaDB or PostgreSQL table. Schema is the MySQL
// database or PostgreSQL schema; empty means the DSN's database (MySQL)
// or public (PostgreSQL).
type SQLTable struct {
	Kind   string // mysql (also mariadb) or postgres
	DSN    string // never printed
	Schema string
	Table  string
}

// sqlSide reads one table. After pairing, it selects the bind form of the
// key columns followed by the compared expressions.
type sqlSide struct {
	kind          string
	db            *sql.DB
	schema, table string
	cat           []catCol
	pk            []string

	names    []string // compared columns, this side's names
	exprs    []string // select expression per compared column ("" for a static)
	types    []string // this side's type per compared column
	classes  []class
	statics  []*string // constant per compared column (source side of static columns)
	keyIdx   []int     // compared column index of each key column
	keyCasts []string  // PostgreSQL: format_type of each key column
	zeroNull bool
}

type catCol struct {
	name     string
	dataType string // MySQL DATA_TYPE; PostgreSQL typname
	full     string // MySQL COLUMN_TYPE; PostgreSQL format_type
	json     bool
}

const connectTimeout = 20 * time.Second

// scrub removes secret text (a DSN) from an error message.
func scrub(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "[dsn]"))
}

func openSQL(ctx context.Context, t SQLTable) (*sqlSide, error) {
	s := &sqlSide{schema: t.Schema, table: t.Table}
	switch t.Kind {
	case "mysql", "mariadb":
		s.kind = "mysql"
		cfg, err := mysql.ParseDSN(t.DSN)
		if err != nil {
			return nil, fmt.Errorf("mysql DSN: %w", scrub(err, t.DSN))
		}
		if cfg.Params == nil {
			cfg.Params = map[string]string{}
		}
		// TIMESTAMP reads in UTC; the text protocol keeps every value as the
		// server prints it.
		cfg.Params["time_zone"] = "'+00:00'"
		cfg.ParseTime = false
		if s.schema == "" {
			s.schema = cfg.DBName
		}
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			return nil, scrub(err, t.DSN)
		}
		s.db = sql.OpenDB(conn)
	case "postgres", "postgresql":
		s.kind = "postgres"
		cfg, err := pgx.ParseConfig(t.DSN)
		if err != nil {
			return nil, fmt.Errorf("postgres DSN: %w", scrub(err, t.DSN))
		}
		for k, v := range map[string]string{"timezone": "UTC", "datestyle": "ISO, YMD", "intervalstyle": "postgres", "extra_float_digits": "1"} {
			cfg.RuntimeParams[k] = v
		}
		if s.schema == "" {
			s.schema = "public"
		}
		s.db = stdlib.OpenDB(*cfg)
	default:
		return nil, fmt.Errorf("kind %q: want mysql or postgres", t.Kind)
	}
	s.db.SetMaxOpenConns(2)
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := s.db.PingContext(cctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("connecting to %s: %w", s.kind, scrub(err, t.DSN))
	}
	if err := s.readCatalog(cctx); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

var jsonCheck = regexp.MustCompile("(?i)json_valid\\(`([^`]+)`\\)")

func (s *sqlSide) readCatalog(ctx context.Context) error {
	var q, pkq string
	var args []any
	if s.kind == "mysql" {
		q = `SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE FROM information_schema.COLUMNS
			WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`
		pkq = `SELECT COLUMN_NAME FROM information_schema.STATISTICS
			WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX`
		args = []any{s.schema, s.table}
	} else {
		q = `SELECT a.attname, t.typname, format_type(a.atttypid, a.atttypmod)
			FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
			WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`
		pkq = `SELECT a.attname FROM pg_index i
			JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) ON true
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
			WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY k.n`
		args = []any{quoteIdent("postgres", s.schema) + "." + quoteIdent("postgres", s.table)}
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("reading the columns of %s: %w", s.Name(), err)
	}
	for rows.Next() {
		var c catCol
		if err := rows.Scan(&c.name, &c.dataType, &c.full); err != nil {
			rows.Close()
			return err
		}
		s.cat = append(s.cat, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(s.cat) == 0 {
		return fmt.Errorf("table %s not found", s.Name())
	}
	rows, err = s.db.QueryContext(ctx, pkq, args...)
	if err != nil {
		return fmt.Errorf("reading the primary key of %s: %w", s.Name(), err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		s.pk = append(s.pk, n)
	}
	rows.Close()
	if s.kind == "mysql" {
		// MariaDB's JSON is LONGTEXT with a json_valid check; MySQL 8 has
		// no TABLE_NAME here and a real json type, so errors are ignored.
		rows, err := s.db.QueryContext(ctx, `SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS
			WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?`, s.schema, s.table)
		if err == nil {
			for rows.Next() {
				var clause string
				if rows.Scan(&clause) == nil {
					for _, m := range jsonCheck.FindAllStringSubmatch(clause, -1) {
						for i := range s.cat {
							if s.cat[i].name == m[1] {
								s.cat[i].json = true
							}
						}
					}
				}
			}
			rows.Close()
		}
	}
	return nil
}

func (s *sqlSide) col(name string) *catCol {
	for i := range s.cat {
		if s.cat[i].name == name {
			return &s.cat[i]
		}
	}
	for i := range s.cat { // PostgreSQL folds unquoted names to lower case
		if strings.EqualFold(s.cat[i].name, name) {
			return &s.cat[i]
		}
	}
	return nil
}

// pairSQL decides the compared columns of a MySQL source and its target
// under m, and the class of each.
func pairSQL(src, dst *sqlSide, m Mapping, zeroNull bool) error {
	if len(src.pk) == 0 {
		return fmt.Errorf("source %s has no primary key; verify pages by key", src.Name())
	}
	src.zeroNull, dst.zeroNull = zeroNull, zeroNull
	var missing []string
	add := func(sc *catCol, static *string, tname string) {
		tc := dst.col(tname)
		if tc == nil {
			missing = append(missing, tname)
			return
		}
		c := clsString
		if sc != nil {
			c = refine(mysqlClass(sc.dataType, sc.full, sc.json), tc.dataType)
			if tc.json || tc.dataType == "json" || tc.dataType == "jsonb" {
				c = clsJSON
			}
			src.addCol(sc.name, sc, c, nil)
		} else {
			src.addCol(tname, nil, c, static)
		}
		dst.addCol(tc.name, tc, c, nil)
	}
	for i := range src.cat {
		sc := &src.cat[i]
		if !m.keeps(sc.name) {
			for _, k := range src.pk {
				if k == sc.name {
					return fmt.Errorf("key column %q is excluded by the mapping", k)
				}
			}
			continue
		}
		add(sc, nil, m.targetName(sc.name))
	}
	for _, name := range m.staticNames() {
		v := m.Static[name]
		add(nil, &v, name)
	}
	if len(missing) > 0 {
		return fmt.Errorf("target %s has no column %s (check the mapping's rename/include/exclude)", dst.Name(), strings.Join(missing, ", "))
	}
	for _, k := range src.pk {
		for i, n := range src.names {
			if n == k && src.statics[i] == nil {
				src.keyIdx = append(src.keyIdx, i)
				dst.keyIdx = append(dst.keyIdx, i)
			}
		}
	}
	for _, s := range []*sqlSide{src, dst} {
		s.keyCasts = nil
		for _, i := range s.keyIdx {
			s.keyCasts = append(s.keyCasts, s.col(s.names[i]).full)
		}
	}
	return nil
}

func (s *sqlSide) addCol(name string, c *catCol, cl class, static *string) {
	s.names = append(s.names, name)
	s.classes = append(s.classes, cl)
	s.statics = append(s.statics, static)
	if c == nil {
		s.exprs = append(s.exprs, "")
		s.types = append(s.types, "")
		return
	}
	q := quoteIdent(s.kind, name)
	s.types = append(s.types, c.dataType)
	expr := q
	if s.kind == "mysql" {
		switch c.dataType {
		case "float":
			expr = "CAST(" + q + " AS DOUBLE)" // the exact value; FLOAT's own text rounds to 6 digits
		case "bit":
			expr = q + "+0"
		}
	} else {
		switch c.dataType {
		case "bytea":
			expr = "encode(" + q + ", 'hex')"
		case "interval", "time", "timetz":
			expr = "round(extract(epoch from " + q + ") * 1000000)::bigint::text"
		default:
			expr = q + "::text"
		}
	}
	s.exprs = append(s.exprs, expr)
}

func quoteIdent(kind, s string) string {
	if kind == "mysql" {
		return "`" + strings.ReplaceAll(s, "`", "``") + "`"
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

func (s *sqlSide) Name() string { return s.schema + "." + s.table }

func (s *sqlSide) Columns() []string { return s.names }

func (s *sqlSide) Close() error { return s.db.Close() }

// bind converts a key for this side's queries: its own keys as read,
// a MySQL key for PostgreSQL as PostgreSQL input text.
func (s *sqlSide) bind(k *Key) []any {
	out := make([]any, len(k.Bind))
	for j, v := range k.Bind {
		b, _ := v.([]byte)
		cl := s.classes[s.keyIdx[j]]
		switch {
		case s.kind == "mysql" && cl == clsBytes:
			out[j] = b
		case s.kind == "postgres" && k.from != Side(s) && cl == clsBytes:
			out[j] = `\x` + hex.EncodeToString(b)
		default:
			out[j] = string(b) // a string parameter compares in the column's collation
		}
	}
	return out
}

// keyCmp is the predicate key > k (op ">") or key <= k (op "<="). MySQL
// gets the expanded form (a > x OR a = x AND b > y), which MariaDB's range
// optimiser uses; PostgreSQL the row-value comparison, which its B-tree
// scans use.
func (s *sqlSide) keyCmp(op string, k *Key, args *[]any) string {
	vals := s.bind(k)
	cols := make([]string, len(s.keyIdx))
	for j, i := range s.keyIdx {
		cols[j] = quoteIdent(s.kind, s.names[i])
	}
	if s.kind == "postgres" {
		ph := make([]string, len(vals))
		for j, v := range vals {
			*args = append(*args, v)
			ph[j] = "$" + strconv.Itoa(len(*args)) + "::text::" + s.keyCasts[j]
		}
		return "(" + strings.Join(cols, ", ") + ") " + op + " (" + strings.Join(ph, ", ") + ")"
	}
	last := ">"
	if op == "<=" {
		last = "<"
	}
	var terms []string
	for i := range cols {
		var t []string
		for j := 0; j < i; j++ {
			t = append(t, cols[j]+" = ?")
			*args = append(*args, vals[j])
		}
		t = append(t, cols[i]+" "+last+" ?")
		*args = append(*args, vals[i])
		terms = append(terms, "("+strings.Join(t, " AND ")+")")
	}
	if op == "<=" {
		var t []string
		for j := range cols {
			t = append(t, cols[j]+" = ?")
			*args = append(*args, vals[j])
		}
		terms = append(terms, "("+strings.Join(t, " AND ")+")")
	}
	return "(" + strings.Join(terms, " OR ") + ")"
}

func (s *sqlSide) query(b Bounds, limit int) (string, []any) {
	var sel, order []string
	for _, i := range s.keyIdx {
		q := quoteIdent(s.kind, s.names[i])
		order = append(order, q)
		if s.kind == "postgres" {
			q += "::text"
		}
		sel = append(sel, q)
	}
	for _, e := range s.exprs {
		if e != "" {
			sel = append(sel, e)
		}
	}
	var where []string
	var args []any
	if b.Lo != nil {
		where = append(where, s.keyCmp(">", b.Lo, &args))
	}
	if b.After != nil {
		where = append(where, s.keyCmp(">", b.After, &args))
	}
	if b.Hi != nil {
		where = append(where, s.keyCmp("<=", b.Hi, &args))
	}
	q := "SELECT " + strings.Join(sel, ", ") + " FROM " + quoteIdent(s.kind, s.schema) + "." + quoteIdent(s.kind, s.table)
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY " + strings.Join(order, ", ") + " LIMIT " + strconv.Itoa(limit)
	return q, args
}

// Scan implements Side.
func (s *sqlSide) Scan(ctx context.Context, b Bounds, limit int, fn func(*Row) error) error {
	q, args := s.query(b, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	nk := len(s.keyIdx)
	vals := make([][]byte, nk+len(s.exprs))
	dest := make([]any, 0, len(vals))
	for i := range vals {
		dest = append(dest, &vals[i])
	}
	nsel := nk
	for _, e := range s.exprs {
		if e != "" {
			nsel++
		}
	}
	dest = dest[:nsel]
	canon := make([]string, len(s.exprs))
	var r Row
	for rows.Next() {
		for i := range vals {
			vals[i] = nil
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		r.Cols = make([]uint64, len(s.exprs))
		sum := newDigest()
		at := nk
		for i, e := range s.exprs {
			var c string
			var null bool
			if e == "" {
				c = *s.statics[i]
			} else {
				c, null, err = canonical(s.classes[i], s.kind, s.types[i], vals[at], s.zeroNull)
				at++
				if err != nil {
					return fmt.Errorf("column %s: %w", s.names[i], err)
				}
			}
			canon[i] = c
			h := hashText(c, null)
			r.Cols[i] = h
			sum.u64(h)
		}
		r.Sum = sum.h
		k := Key{from: s, Bind: make([]any, nk), Canon: make([]string, nk)}
		var disp []string
		for j, i := range s.keyIdx {
			raw := append([]byte(nil), vals[j]...)
			k.Bind[j] = raw
			k.Canon[j] = canon[i]
			v := string(raw)
			switch s.classes[i] {
			case clsBytes:
				if s.kind == "mysql" {
					v = "x'" + hex.EncodeToString(raw) + "'"
				}
			case clsString, clsChar, clsSet, clsDate, clsDateTime, clsTime:
				v = strconv.Quote(v)
			}
			disp = append(disp, s.names[i]+"="+v)
		}
		k.Display = strings.Join(disp, ", ")
		if len(disp) > 1 {
			k.Display = "(" + k.Display + ")"
		}
		r.Key = k
		if err := fn(&r); err != nil {
			return err
		}
	}
	return rows.Err()
}
