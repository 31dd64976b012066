package binlog

import (
	"testing"

	"github.com/sluice-cdc/sluice/capture/internal/filter"
)

func mustFilter(t *testing.T, include []string) *filter.Filter {
	t.Helper()
	f, err := filter.New(include, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestPadFraction(t *testing.T) {
	for _, c := range []struct {
		in   string
		fsp  int
		want string
	}{
		{"0000-00-00 00:00:00", 6, "0000-00-00 00:00:00.000000"},
		{"2024-01-01 10:00:00.5", 6, "2024-01-01 10:00:00.500000"},
		{"-838:59:59", 6, "-838:59:59.000000"},
		{"10:00:00.123456", 6, "10:00:00.123456"},
		{"2024-01-01 10:00:00", 0, "2024-01-01 10:00:00"},
	} {
		if got := padFraction(c.in, c.fsp); got != c.want {
			t.Errorf("padFraction(%q,%d) = %q, want %q", c.in, c.fsp, got, c.want)
		}
	}
}
