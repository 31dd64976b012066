package kafka

import (
	"strings"
	"testing"
)

func TestTopicName(t *testing.T) {
	long := strings.Repeat("t", 241) // 9 + 241 = 250 characters
	tests := []struct {
		template, prefix, db, table string
		want                        string
		err                         string // substring of the error, "" for success
	}{
		{DefaultTopicTemplate, "sluice", "shop", "orders", "sluice.shop.orders", ""},
		{"sluice.{db}.{table}", "", "shop", "orders", "sluice.shop.orders", ""},
		{"{prefix}-{db}_{collection}", "cdc", "app", "users", "cdc-app_users", ""},
		{"fixed", "", "a", "b", "fixed", ""},
		// Each illegal rune becomes one '_'; legal . _ - stay.
		{"sluice.{db}.{table}", "", "shop-eu", "Order Items", "sluice.shop-eu.Order_Items", ""},
		{"sluice.{db}.{table}", "", "café", "naïve/tbl$1", "sluice.caf_.na_ve_tbl_1", ""},
		{"sluice.{db}.{table}", "", "d", "😀x", "sluice.d._x", ""},
		{"sluice.{db}.{table}", "", "d", "a\xffb", "sluice.d.a_b", ""},
		{"{prefix}.{db}", "my prefix", "d", "t", "my_prefix.d", ""},
		// Configuration errors.
		{"sluice/{db}", "", "d", "t", "", `character '/' is not allowed`},
		{"sluice.{db", "", "d", "t", "", "unclosed '{'"},
		{"sluice.{schema}.{table}", "", "d", "t", "", "unknown placeholder {schema}"},
		{"{prefix}.{db}.{table}", "", "d", "t", "", "the prefix is empty"},
		{"x.{db}.{table}", "", "", "t", "", "the database name is empty"},
		{"", "", "d", "t", "", "empty topic name"},
		{"{table}", "", "d", ".", "", `gives "."`},
		{"{table}", "", "d", "..", "", `gives ".."`},
		{"sluice.{db}.{table}", "", "d", long, "", "over Kafka's limit of 249"},
	}
	for _, tc := range tests {
		got, err := TopicName(tc.template, tc.prefix, tc.db, tc.table)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("TopicName(%q, %q, %q, %q) = %q, %v; want error containing %q", tc.template, tc.prefix, tc.db, tc.table, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("TopicName(%q, %q, %q, %q) = %q, %v; want %q", tc.template, tc.prefix, tc.db, tc.table, got, err, tc.want)
		}
		if i := illegalIndex(got); i >= 0 || len(got) > MaxTopicLen {
			t.Errorf("TopicName gave %q, not a legal topic name", got)
		}
	}
	// 249 characters exactly is allowed.
	ok := strings.Repeat("x", MaxTopicLen-len("s.d."))
	if got, err := TopicName("s.{db}.{table}", "", "d", ok); err != nil || len(got) != MaxTopicLen {
		t.Errorf("249-character name: %q, %v", got, err)
	}
}

func TestTopicsCollision(t *testing.T) {
	tp, err := NewTopics("sluice.{db}.{table}", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := tp.Reserve("sluice.meta.positions", "the positions topic"); err != nil {
		t.Fatal(err)
	}
	n1, err := tp.Name("shop", "order items")
	if err != nil || n1 != "sluice.shop.order_items" {
		t.Fatalf("Name = %q, %v", n1, err)
	}
	// Asking again is a cache hit, not a collision with itself.
	if n, err := tp.Name("shop", "order items"); err != nil || n != n1 {
		t.Fatalf("second Name = %q, %v", n, err)
	}
	_, err = tp.Name("shop", "order_items")
	if err == nil || !strings.Contains(err.Error(), "shop.order_items") || !strings.Contains(err.Error(), "table shop.order items") {
		t.Fatalf("colliding table: err = %v, want one naming both tables", err)
	}
	_, err = tp.Name("meta", "positions")
	if err == nil || !strings.Contains(err.Error(), "table meta.positions") || !strings.Contains(err.Error(), "the positions topic") {
		t.Fatalf("table on the reserved topic: err = %v", err)
	}
	if _, err := NewTopics("bad template {x}", ""); err == nil {
		t.Fatal("NewTopics accepted a bad template")
	}
	if d, err := NewTopics("", "p"); err != nil || d.Template() != DefaultTopicTemplate {
		t.Fatalf("empty template: %v, %v", d, err)
	}
}
