package kafka

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"go.uber.org/zap"

	"github.com/sluice-cdc/sluice/pkg/config"
)

// ClientOpts returns the franz-go options that connect to the cluster cfg
// describes: seed brokers, client id, TLS and SASL. Producer and consumer
// options are the caller's; append them after these.
//
// TLS files are read here, so a missing or unreadable certificate is an
// error at startup that names the setting. The SASL password is read from
// cfg each time a connection authenticates and is never kept elsewhere.
func ClientOpts(cfg config.Kafka) ([]kgo.Opt, error) {
	if len(cfg.Brokers) == 0 {
		return nil, fmt.Errorf("kafka.brokers: no broker configured")
	}
	opts := []kgo.Opt{kgo.SeedBrokers(cfg.Brokers...)}
	if cfg.ClientID != "" {
		opts = append(opts, kgo.ClientID(cfg.ClientID))
	}
	tc, err := cfg.TLS.TLSConfig()
	if err != nil {
		return nil, fmt.Errorf("kafka.%w", err)
	}
	if tc != nil {
		// DialTLSConfig clones tc per dial and fills ServerName from the
		// broker's host when tls.server_name is empty.
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if mech, err := saslMechanism(cfg.SASL); err != nil {
		return nil, err
	} else if mech != nil {
		opts = append(opts, kgo.SASL(mech))
	}
	return opts, nil
}

// saslMechanism builds the mechanism for s, or nil when SASL is off.
func saslMechanism(s config.SASL) (sasl.Mechanism, error) {
	if s.Mechanism == "" {
		return nil, nil
	}
	if s.User == "" {
		return nil, fmt.Errorf("kafka.sasl.user: must be set for %s", s.Mechanism)
	}
	// The closures capture the Secret, not its text: Reveal runs only when
	// a connection authenticates.
	user, pass := s.User, s.Password
	switch s.Mechanism {
	case config.SASLPlain:
		return plain.Plain(func(context.Context) (plain.Auth, error) {
			return plain.Auth{User: user, Pass: pass.Reveal()}, nil
		}), nil
	case config.SASLSCRAMSHA256, config.SASLSCRAMSHA512:
		auth := func(context.Context) (scram.Auth, error) {
			return scram.Auth{User: user, Pass: pass.Reveal()}, nil
		}
		if s.Mechanism == config.SASLSCRAMSHA256 {
			return scram.Sha256(auth), nil
		}
		return scram.Sha512(auth), nil
	}
	return nil, fmt.Errorf("kafka.sasl.mechanism: %q is not supported (%s, %s or %s)",
		s.Mechanism, config.SASLPlain, config.SASLSCRAMSHA256, config.SASLSCRAMSHA512)
}

// ZapLogger adapts l to franz-go's logger, at level min and above. franz-go
// logs connection trouble, retries and transaction steps; at Info it is
// chatty (one line per transaction end), so services pass Warn by default.
func ZapLogger(l *zap.Logger, min kgo.LogLevel) kgo.Logger {
	return &zapLogger{l: l.Named("kgo").WithOptions(zap.AddCallerSkip(1)), min: min}
}

type zapLogger struct {
	l   *zap.Logger
	min kgo.LogLevel
}

func (z *zapLogger) Level() kgo.LogLevel { return z.min }

func (z *zapLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	if level > z.min || level == kgo.LogLevelNone {
		return
	}
	fields := make([]zap.Field, 0, len(keyvals)/2)
	for i := 0; i+1 < len(keyvals); i += 2 {
		k, ok := keyvals[i].(string)
		if !ok {
			k = fmt.Sprint(keyvals[i])
		}
		fields = append(fields, zap.Any(k, keyvals[i+1]))
	}
	switch level {
	case kgo.LogLevelError:
		z.l.Error(msg, fields...)
	case kgo.LogLevelWarn:
		z.l.Warn(msg, fields...)
	case kgo.LogLevelInfo:
		z.l.Info(msg, fields...)
	default:
		z.l.Debug(msg, fields...)
	}
}
