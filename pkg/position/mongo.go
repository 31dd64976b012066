package position

import (
	"fmt"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Mongo is a change-stream position. Its JSON form is
//
//	{"resume_token":"8263...","cluster_time":{"t":1700000000,"i":3}}
//
// with an empty token or zero cluster time left out.
type Mongo struct {
	// ResumeToken is the _data of the change stream's resume token: a hex
	// string on MongoDB 4.2 and later. Older servers' tokens, which are
	// not a hex string, are kept as the canonical Extended JSON of the
	// whole token document ("{...}").
	ResumeToken string `json:"resume_token,omitzero"`
	// ClusterTime is the cluster time of the last event, used with
	// startAtOperationTime when there is no token.
	ClusterTime ClusterTime `json:"cluster_time,omitzero"`
	// Streams holds one position per change stream when capture watches
	// a list of collections with one stream each (watch: collections),
	// keyed by "db.collection"; ResumeToken is then empty and ClusterTime
	// is that of the last event of any stream (for lag and for starting a
	// stream newly added to the list). The entries have no Streams.
	Streams map[string]Mongo `json:"streams,omitzero"`
}

// ClusterTime is a BSON timestamp: seconds since the epoch and an
// ordinal within the second.
type ClusterTime struct {
	T uint32 `json:"t"`
	I uint32 `json:"i"`
}

// IsZero reports whether c is unset.
func (c ClusterTime) IsZero() bool { return c.T == 0 && c.I == 0 }

// Time is the wall-clock second of c, in UTC.
func (c ClusterTime) Time() time.Time { return time.Unix(int64(c.T), 0).UTC() }

func (c ClusterTime) String() string {
	return fmt.Sprintf("%d.%d (%s)", c.T, c.I, c.Time().Format(time.RFC3339))
}

type mongoJSON Mongo

// IsZero reports whether p holds no position at all.
func (p Mongo) IsZero() bool {
	return p.ResumeToken == "" && p.ClusterTime.IsZero() && len(p.Streams) == 0
}

// String is the human form used in logs and errors.
func (p Mongo) String() string {
	switch {
	case p.ResumeToken != "" && !p.ClusterTime.IsZero():
		return "resume token " + p.ResumeToken + " at cluster time " + p.ClusterTime.String()
	case p.ResumeToken != "":
		return "resume token " + p.ResumeToken
	case len(p.Streams) > 0:
		return fmt.Sprintf("%d streams at cluster time %s", len(p.Streams), p.ClusterTime)
	case !p.ClusterTime.IsZero():
		return "cluster time " + p.ClusterTime.String()
	}
	return "(no position)"
}

// JSON returns the JSON text form.
func (p Mongo) JSON() string {
	b, err := p.MarshalJSON()
	if err != nil {
		return fmt.Sprintf(`{"error":%q}`, err.Error())
	}
	return string(b)
}

// MarshalJSON writes the JSON form.
func (p Mongo) MarshalJSON() ([]byte, error) {
	return json.Marshal(mongoJSON(p), json.Deterministic(true))
}

// UnmarshalJSON reads the JSON form strictly, then validates. On error p
// is unchanged.
func (p *Mongo) UnmarshalJSON(b []byte) error {
	var v mongoJSON
	if err := json.Unmarshal(b, &v, json.RejectUnknownMembers(true)); err != nil {
		return fmt.Errorf("parsing Mongo position: %w", err)
	}
	if err := Mongo(v).Validate(); err != nil {
		return err
	}
	*p = Mongo(v)
	return nil
}

// ParseMongo reads the JSON form strictly (see UnmarshalJSON).
func ParseMongo(s string) (Mongo, error) {
	var p Mongo
	if err := p.UnmarshalJSON([]byte(s)); err != nil {
		return Mongo{}, fmt.Errorf("position %s: %w", s, err)
	}
	return p, nil
}

// Validate checks the position says where to resume and is well-formed.
func (p Mongo) Validate() error {
	if p.IsZero() {
		return fmt.Errorf("Mongo position has neither a resume token nor a cluster time")
	}
	if p.ResumeToken != "" {
		if err := checkResumeToken(p.ResumeToken); err != nil {
			return fmt.Errorf("Mongo position: %w", err)
		}
	}
	if p.ClusterTime.T == 0 && p.ClusterTime.I != 0 {
		return fmt.Errorf("Mongo position: cluster time has increment %d but no seconds", p.ClusterTime.I)
	}
	if len(p.Streams) > 0 && p.ResumeToken != "" {
		return fmt.Errorf("Mongo position: has both a resume token and per-stream positions")
	}
	for ns, s := range p.Streams {
		if len(s.Streams) > 0 {
			return fmt.Errorf("Mongo position: stream %s has nested streams", ns)
		}
		if err := s.Validate(); err != nil {
			return fmt.Errorf("stream %s: %w", ns, err)
		}
	}
	return nil
}

// checkResumeToken accepts a hex _data string or an Extended JSON token
// document.
func checkResumeToken(tok string) error {
	if strings.HasPrefix(tok, "{") {
		if !jsontext.Value(tok).IsValid() {
			return fmt.Errorf("resume token %q starts with { but is not a JSON document", tok)
		}
		return nil
	}
	if !allHex(tok) || len(tok)%2 != 0 {
		return fmt.Errorf("resume token %q: want the hex _data string (an even number of hex digits) or an Extended JSON document", tok)
	}
	return nil
}
