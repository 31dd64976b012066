package mongo

import (
	"errors"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/sluice-cdc/sluice/pkg/position"
)

// start is where one stream begins: after a token (resumeAfter, or
// startAfter for a token given by hand, which also works after an
// invalidate), at an operation time, or at the end (latest).
type start struct {
	token      string
	startAfter bool
	at         *bson.Timestamp
}

func (s start) String() string {
	switch {
	case s.token != "" && s.startAfter:
		return "start after token " + s.token
	case s.token != "":
		return "resume after token " + s.token
	case s.at != nil:
		return fmt.Sprintf("start at operation time %d.%d", s.at.T, s.at.I)
	}
	return "latest"
}

// CheckFrom validates a --from spec for the MongoDB source: latest,
// time:<RFC3339>, token:<resume token _data hex or Extended JSON>, or a
// stored Mongo position (JSON).
func CheckFrom(from string) error {
	_, err := parseFrom(from)
	return err
}

// parseFrom reads a start spec or a stored position into a position.
// The result has Hand set for a hand-given token.
type parsedFrom struct {
	pos    position.Mongo
	latest bool
	hand   bool // token given by hand: startAfter
}

func parseFrom(from string) (parsedFrom, error) {
	if from == "" || from == "latest" {
		return parsedFrom{latest: true}, nil
	}
	if strings.HasPrefix(from, "{") {
		p, err := position.ParseMongo(from)
		if err != nil {
			return parsedFrom{}, fmt.Errorf("--from: %w", err)
		}
		return parsedFrom{pos: p}, nil
	}
	f, err := position.ParseFrom(from)
	if err != nil {
		return parsedFrom{}, err
	}
	switch f.Kind {
	case position.FromTime:
		return parsedFrom{pos: position.Mongo{ClusterTime: position.ClusterTime{T: uint32(f.Time.Unix())}}}, nil
	case position.FromToken:
		if _, err := tokenDoc(f.Token); err != nil {
			return parsedFrom{}, fmt.Errorf("--from %s: %w", from, err)
		}
		return parsedFrom{pos: position.Mongo{ResumeToken: f.Token}, hand: true}, nil
	case position.FromEarliest:
		return parsedFrom{}, errors.New("--from earliest: a change stream cannot start at the beginning of the oplog; use time:<RFC3339> within the oplog window, or snapshot the collections")
	}
	return parsedFrom{}, fmt.Errorf("--from %s: a %s start is not supported by the MongoDB source (use latest, time:<RFC3339>, token:<resume token>)", from, f.Kind)
}

// starts maps a parsed start to one start per stream key ("" for the
// single stream of deployment and database watches).
func starts(pf parsedFrom, keys []string) (map[string]start, error) {
	out := map[string]start{}
	single := len(keys) == 1 && keys[0] == ""
	at := func(ct position.ClusterTime) *bson.Timestamp {
		if ct.IsZero() {
			return nil
		}
		return &bson.Timestamp{T: ct.T, I: ct.I}
	}
	for _, k := range keys {
		switch {
		case pf.latest:
			out[k] = start{}
		case len(pf.pos.Streams) > 0:
			if single {
				return nil, errors.New("the stored position has one token per collection (watch: collections), but watch is now deployment or database; start with --from time:<RFC3339> (the cluster time of the stored position, " + pf.pos.ClusterTime.String() + ") or --from latest")
			}
			s, ok := pf.pos.Streams[k]
			switch {
			case ok && s.ResumeToken != "":
				out[k] = start{token: s.ResumeToken}
			case ok:
				out[k] = start{at: at(s.ClusterTime)}
			default: // a collection added to the list: from the newest time known
				out[k] = start{at: at(pf.pos.ClusterTime)}
			}
		case pf.pos.ResumeToken != "":
			if !single && len(keys) > 1 {
				return nil, fmt.Errorf("a single resume token cannot start %d collection streams (watch: collections); give --from time:<RFC3339> instead", len(keys))
			}
			out[k] = start{token: pf.pos.ResumeToken, startAfter: pf.hand}
		default:
			out[k] = start{at: at(pf.pos.ClusterTime)}
		}
	}
	return out, nil
}

// Server error codes that end capture.
const (
	codeInvalidResumeToken      = 260
	codeChangeStreamFatal       = 280
	codeChangeStreamHistoryLost = 286
)

// ErrHistoryLost is wrapped by the error returned when the server no
// longer has the history to resume from.
var ErrHistoryLost = errors.New("change stream history lost")

// classify turns a driver error into capture's error: fatal and
// explained for a lost or invalid resume point, retryable for network
// trouble, fatal otherwise.
func classify(err error, where string, st start) error {
	var ce mongo.CommandError
	var se mongo.ServerError
	code := int32(0)
	if errors.As(err, &ce) {
		code = ce.Code
	} else if errors.As(err, &se) {
		for _, c := range []int{codeChangeStreamHistoryLost, codeInvalidResumeToken, codeChangeStreamFatal} {
			if se.HasErrorCode(c) {
				code = int32(c)
			}
		}
	}
	recovery := "re-snapshot the affected collections, then start capture again with `capture run --config <file> --from latest` (or --from time:<RFC3339> within the oplog window)"
	switch code {
	case codeChangeStreamHistoryLost:
		return fmt.Errorf("%w: %s: the oplog no longer holds %s (ChangeStreamHistoryLost, code 286): changes since then are lost to capture; %s: %v", ErrHistoryLost, where, st, recovery, err)
	case codeInvalidResumeToken, codeChangeStreamFatal:
		return fmt.Errorf("%w: %s: the server refuses %s (invalid resume token, code %d): %s; to skip to a token by hand use --from token:<hex>: %v", ErrHistoryLost, where, st, code, recovery, err)
	}
	if mongo.IsNetworkError(err) || mongo.IsTimeout(err) || errors.Is(err, mongo.ErrClientDisconnected) || isSelection(err) {
		return retryable{fmt.Errorf("%s: %w", where, err)}
	}
	return fmt.Errorf("%s: %w", where, err)
}

func isSelection(err error) bool {
	var se topology.ServerSelectionError
	return errors.As(err, &se)
}

// retryable marks errors after which the pipeline restarts from the last
// committed position (pipeline.Retryable).
type retryable struct{ error }

func (r retryable) Retryable() bool { return true }
func (r retryable) Unwrap() error   { return r.error }
