package config

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// testConfig stands in for a service config: the shared blocks plus
// fields of its own, with defaults, a required field and a map of blocks.
type testConfig struct {
	// Name is required.
	Name string `yaml:"name"`
	Note string `yaml:"note"`
	// BatchSize default 500, at least 1.
	BatchSize int `yaml:"batch_size"`
	// Transactions default true: the case where applying defaults after
	// decoding would overwrite an explicit false.
	Transactions bool                 `yaml:"transactions"`
	Tables       map[string]testTable `yaml:"tables"`
	Kafka        Kafka                `yaml:"kafka"`
	HTTP         HTTP                 `yaml:"http"`
	Log          Log                  `yaml:"log"`
}

type testTable struct {
	Topic      string `yaml:"topic"`
	Partitions int    `yaml:"partitions"`
}

func (c *testConfig) SetDefaults() {
	c.BatchSize = 500
	c.Transactions = true
	c.Kafka.SetDefaults()
	c.HTTP.SetDefaults()
	c.Log.SetDefaults()
}

func (c *testConfig) Validate() error {
	var p Problems
	if c.Name == "" {
		p.Add("name", "must not be empty")
	}
	if c.BatchSize < 1 {
		p.Add("batch_size", "must be at least 1, got %d", c.BatchSize)
	}
	p.Merge("kafka", c.Kafka.Validate())
	p.Merge("http", c.HTTP.Validate())
	p.Merge("log", c.Log.Validate())
	return p.Err()
}

// testEnv is the environment the testdata files are loaded with.
var testEnv = map[string]string{
	"SLUICE_TEST_SECRET": "hunter2",
	"SLUICE_TEST_BATCH":  "250",
	"SLUICE_TEST_EMPTY":  "",
	// A value that looks like a reference stays literal: expansion is
	// one pass, the environment cannot inject references.
	"SLUICE_TEST_INJECT": "${SLUICE_TEST_SECRET}",
}

func lookupTest(k string) (string, bool) { v, ok := testEnv[k]; return v, ok }

func loadTest(path string) (testConfig, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return testConfig{}, err
	}
	var c testConfig
	err = Decode(path, raw, lookupTest, &c)
	return c, err
}

func TestGoodFiles(t *testing.T) {
	defaults := testConfig{BatchSize: 500, Transactions: true,
		Kafka: Kafka{ClientID: "sluice"}, HTTP: HTTP{Listen: ":9090"}, Log: Log{Level: "info", Format: "json"}}
	with := func(f func(*testConfig)) testConfig {
		c := defaults
		f(&c)
		return c
	}
	want := map[string]testConfig{
		"defaults.yaml": with(func(c *testConfig) {
			c.Name = "minimal"
			c.Kafka.Brokers = []string{"localhost:9092"}
		}),
		"full.yaml": {
			Name:         "orders",
			Note:         "costs $5, a lone $ stays, literal ${HOME}",
			BatchSize:    250,
			Transactions: false,
			Tables: map[string]testTable{
				"orders": {Topic: "sluice.shop.orders", Partitions: 6},
				"items":  {Topic: "plain-fallback", Partitions: 6},
			},
			Kafka: Kafka{
				Brokers:  []string{"127.0.0.1:9092", "b2:9092"},
				ClientID: "${SLUICE_TEST_SECRET}",
				TLS:      TLS{Enabled: true, ServerName: "kafka.internal"},
				SASL:     SASL{Mechanism: SASLSCRAMSHA512, User: "sluice", Password: "hunter2"},
			},
			HTTP: HTTP{Listen: "127.0.0.1:9191"},
			Log:  Log{Level: "debug", Format: "console"},
		},
		"secret-file.yaml": with(func(c *testConfig) {
			c.Name = "from-file"
			c.Kafka.Brokers = []string{"kafka-0.kafka:9092"}
			c.Kafka.SASL = SASL{Mechanism: SASLPlain, User: "sluice", Password: "s3cret pass"}
		}),
	}
	files, _ := filepath.Glob("testdata/good/*.yaml")
	if len(files) != len(want) {
		t.Fatalf("%d good files, %d expectations", len(files), len(want))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			w, ok := want[filepath.Base(f)]
			if !ok {
				t.Fatal("no expectation for this file")
			}
			got, err := loadTest(f)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, w) {
				t.Errorf("loaded\n%#v\nwant\n%#v", got, w)
			}
		})
	}
}

// TestBadFiles checks each bad file reports exactly the problems in the
// "# want:" lines at its top, all in one error, in order.
func TestBadFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(files) == 0 {
		t.Fatal("no bad config files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			wants := wantLines(t, f)
			if len(wants) == 0 {
				t.Fatal("file has no # want: lines")
			}
			_, err := loadTest(f)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want *config.Error", err, err)
			}
			if e.File != f {
				t.Errorf("File = %q", e.File)
			}
			if len(e.Problems) != len(wants) {
				t.Fatalf("%d problems reported, want %d:\n%v", len(e.Problems), len(wants), err)
			}
			for i, w := range wants {
				if got := e.Problems[i].String(); !strings.HasPrefix(got, w) {
					t.Errorf("problem %d = %q, want prefix %q", i, got, w)
				}
			}
			if n := strings.Count(err.Error(), "\n"); len(wants) > 1 && n != len(wants) {
				t.Errorf("message has %d lines, want a header and one per problem:\n%v", n+1, err)
			}
		})
	}
}

func wantLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if w, ok := strings.CutPrefix(s.Text(), "# want: "); ok {
			out = append(out, w)
		}
	}
	return out
}

func TestLoadReadsFileAndEnvironment(t *testing.T) {
	t.Setenv("SLUICE_TEST_SECRET", "from-env")
	t.Setenv("SLUICE_TEST_BATCH", "7")
	t.Setenv("SLUICE_TEST_INJECT", "id")
	var c testConfig
	if err := Load("testdata/good/full.yaml", &c); err != nil {
		t.Fatal(err)
	}
	if c.Kafka.SASL.Password.Reveal() != "from-env" || c.BatchSize != 7 || c.Kafka.ClientID != "id" {
		t.Errorf("environment not used: %+v", c)
	}
	if err := Load("testdata/none.yaml", &c); err == nil || !strings.Contains(err.Error(), "none.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

func TestDecodeEdgeCases(t *testing.T) {
	var c testConfig
	err := Decode("empty", nil, lookupTest, &c)
	if err == nil || !strings.Contains(err.Error(), "name: must not be empty") {
		t.Errorf("empty file: %v", err)
	}
	if c.BatchSize != 500 {
		t.Errorf("empty file lost defaults: %+v", c)
	}
	err = Decode("syntax", []byte("name: x\nkafka: [\n"), lookupTest, &c)
	var e *Error
	if !errors.As(err, &e) || len(e.Problems) != 1 || e.Problems[0].Line == 0 {
		t.Errorf("syntax error: %v", err)
	}
	// A key given with no value keeps the block's defaults.
	c = testConfig{}
	if err := Decode("null", []byte("name: x\nlog:\nkafka: {brokers: [a:1]}\n"), lookupTest, &c); err != nil {
		t.Fatal(err)
	}
	if c.Log.Level != "info" {
		t.Errorf("null block lost defaults: %+v", c.Log)
	}
	if err := Decode("x", []byte("name: x"), lookupTest, nil); err == nil {
		t.Error("nil dst accepted")
	}
}

// An inline map takes any key; inlined structs add their keys.
func TestInlineFields(t *testing.T) {
	type inner struct {
		A int `yaml:"a"`
	}
	type outer struct {
		inner `yaml:",inline"`
		Skip  int            `yaml:"-"`
		Rest  map[string]int `yaml:",inline"`
	}
	fields := yamlFields(reflect.TypeFor[outer]())
	if _, ok := fields["a"]; !ok {
		t.Errorf("inline struct field missing: %v", fields)
	}
	if _, ok := fields["skip"]; ok {
		t.Errorf(`"-" field present: %v`, fields)
	}
	if fields[""] != reflect.TypeFor[int]() {
		t.Errorf("inline map not recorded: %v", fields)
	}
}

// checkFields must agree with the yaml decoder on which keys exist:
// untagged fields, inline structs and maps, merge keys and aliases.
func TestCheckFieldsAgreesWithDecoder(t *testing.T) {
	type inner struct {
		A int `yaml:"a"`
	}
	type outer struct {
		inner     `yaml:",inline"`
		FieldName int                        `yaml:""` // key "fieldname"
		Sub       struct{ X, Y int }         `yaml:"sub"`
		Extra     map[string]inner           `yaml:",inline"`
		Anchors   map[string]struct{ X int } `yaml:"anchors"`
	}
	src := "a: 1\nfieldname: 2\nanchors: {base: &b {x: 1}}\nsub:\n  <<: *b\n  y: 3\nfree:\n  a: 4\n"
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(src), &root); err != nil {
		t.Fatal(err)
	}
	var probs []Problem
	lines := map[string]int{}
	checkFields(&root, reflect.TypeFor[outer](), "", lines, &probs)
	if len(probs) != 0 {
		t.Errorf("problems on a valid document: %v", probs)
	}
	var v outer
	if err := root.Decode(&v); err != nil || v.A != 1 || v.FieldName != 2 || v.Sub.X != 1 || v.Sub.Y != 3 || v.Extra["free"].A != 4 {
		t.Errorf("decoder disagrees: %+v, %v", v, err)
	}
	if lines["sub.y"] != 6 || lines["free.a"] != 8 {
		t.Errorf("lines = %v", lines)
	}

	// An anchor valid where it is defined (free2 is an inner) but not
	// where it is used (anchors.k wants x) is reported at its use.
	bad := "sub:\n  <<: {x: 1, z: 2}\nfree:\n  b: 1\nfree2: &f {a: 1}\nanchors: {k: *f}\n"
	if err := yaml.Unmarshal([]byte(bad), &root); err != nil {
		t.Fatal(err)
	}
	probs = nil
	checkFields(&root, reflect.TypeFor[outer](), "", lines, &probs)
	if len(probs) != 3 || probs[0].String() != "line 2: sub.z: unknown field (known: x, y)" ||
		probs[1].String() != "line 4: free.b: unknown field (known: a)" ||
		probs[2].String() != "line 5: anchors.k.a: unknown field (known: x)" {
		t.Errorf("problems = %v", probs)
	}
}

// An anchor that contains itself is a decode error, not a hang.
func TestSelfReferentialAnchor(t *testing.T) {
	var c testConfig
	err := Decode("loop", []byte("name: x\nkafka: {brokers: &a [*a]}\n"), lookupTest, &c)
	if err == nil {
		t.Fatal("self-referential anchor accepted")
	}
}
