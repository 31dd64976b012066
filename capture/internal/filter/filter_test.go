package filter

import (
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	f, err := New([]string{"shop.*", "crm.customers"}, []string{"shop.audit_*"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		db, table string
		want      bool
	}{
		{"shop", "orders", true},
		{"shop", "audit_log", false},
		{"shop", "audit_", false},
		{"crm", "customers", true},
		{"crm", "leads", false},
		{"other", "orders", false},
		{"mysql", "user", false},
		{"shop.x", "y", false}, // a dot in a name does not widen a match
	}
	for _, tt := range tests {
		if got := f.Table(tt.db, tt.table); got != tt.want {
			t.Errorf("Table(%q,%q) = %v, want %v", tt.db, tt.table, got, tt.want)
		}
	}
}

func TestEmptyIncludeCapturesAllButSystem(t *testing.T) {
	f, err := New(nil, []string{"tmp.*"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		db   string
		want bool
	}{{"shop", true}, {"tmp", false}, {"information_schema", false}, {"performance_schema", false}, {"sys", false}} {
		if got := f.Table(c.db, "t"); got != c.want {
			t.Errorf("Table(%q) = %v, want %v", c.db, got, c.want)
		}
	}
	var nilFilter *Filter
	if !nilFilter.Table("shop", "t") || !nilFilter.Column("shop", "t", "c") {
		t.Error("nil filter must capture everything")
	}
}

func TestColumn(t *testing.T) {
	f, err := New(nil, nil, []string{"shop.users.password_hash", "*.*.secret_*"})
	if err != nil {
		t.Fatal(err)
	}
	if f.Column("shop", "users", "password_hash") {
		t.Error("password_hash must be excluded")
	}
	if !f.Column("shop", "users", "email") {
		t.Error("email must be kept")
	}
	if f.Column("crm", "x", "secret_token") {
		t.Error("secret_token must be excluded by the wildcard")
	}
	if !f.HasColumnExcludes() {
		t.Error("HasColumnExcludes = false")
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	_, err := New([]string{"shop", "[bad.x"}, []string{""}, []string{"a.b"})
	if err == nil {
		t.Fatal("want error")
	}
	msg := err.Error()
	for _, want := range []string{`include[0] "shop"`, `include[1] "[bad.x"`, "exclude[0]: empty pattern", `exclude_columns[0] "a.b"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if n := strings.Count(msg, "\n"); n != 4 {
		t.Errorf("want 4 problem lines, got %d:\n%s", n, msg)
	}
}
