package tracestore

import (
	"errors"
	"fmt"

	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mcphost/mcphost/sdk/base"
)

// DefaultMaxConns is tracing-postgres's default max_conns.
const DefaultMaxConns = 4

// maxMaxConns bounds max_conns: each connection is a PostgreSQL backend
// process, and a proxy needs few.
const maxMaxConns = 1000

// PostgresConfig is the `config` block of `plugin "tracing-postgres" {}`.
// retention, store_content, learning_rate, deprecate_below and
// min_feedback mean what they mean for the Badger plugin (Config).
type PostgresConfig struct {
	DSN            string        `json:"dsn" config:"required,sensitive" doc:"PostgreSQL connection string (URL or key=value form, as libpq takes it), e.g. env(\"MCPHOST_TRACE_DSN\"). Its password is never logged or shown."`
	StoreContent   bool          `json:"store_content" doc:"Also store each version's raw content, not only its hash, summary and size (default false)."`
	Retention      base.Duration `json:"retention" default:"720h" doc:"How long entries live after their last write, as a duration such as \"720h\" (default 720h); \"0\" keeps them forever."`
	LearningRate   float64       `json:"learning_rate" default:"1" doc:"r in q' = q + r·w·(s − q): how far one feedback moves a context's quality toward the score, in (0, 1] (default 1)."`
	DeprecateBelow float64       `json:"deprecate_below" default:"-0.3" doc:"A context whose quality is at or below this value, in [-1, 1], is deprecated (default -0.3)."`
	MinFeedback    float64       `json:"min_feedback" default:"3" doc:"Feedbacks that must have touched a context before it can be deprecated, at least 1 (default 3)."`
	MaxConns       float64       `json:"max_conns" default:"4" doc:"Most connections the plugin opens to PostgreSQL for reads and writes, besides one that listens for other instances' changes (default 4)."`
}

// pgOptions is a decoded, checked PostgresConfig.
type pgOptions struct {
	options
	pool *pgxpool.Config
	// where is the DSN without its password: host, port, database, user.
	where    string
	password string
}

// pgConfigBlock is tracing-postgres's config block.
var pgConfigBlock = base.NewBlock(checkPostgresOptions)

// checkPostgresOptions checks the options shared with the Badger plugin
// as its checkOptions does, then the DSN and max_conns.
func checkPostgresOptions(c PostgresConfig) (pgOptions, []base.Diagnostic) {
	o, diags := checkOptions(Config{
		StoreContent: c.StoreContent, Retention: c.Retention, LearningRate: c.LearningRate,
		DeprecateBelow: c.DeprecateBelow, MinFeedback: c.MinFeedback, CacheEntries: 0,
	})
	po := pgOptions{options: o}
	if dsn := strings.TrimSpace(c.DSN); dsn != "" {
		cfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			// The parse error quotes the DSN (password masked on a best-effort
			// basis); its cause does not.
			cause := err
			if u := errors.Unwrap(err); u != nil {
				cause = u
			}
			diags = append(diags, base.Error("dsn", "Invalid dsn", "dsn is not a PostgreSQL connection string: "+redact(cause.Error(), dsn)))
		} else {
			po.pool, po.password = cfg, cfg.ConnConfig.Password
			po.where = describeConn(cfg.ConnConfig)
		}
	}
	if n := c.MaxConns; !isWhole(n) || n < 1 || n > maxMaxConns {
		diags = append(diags, base.Error("max_conns", "Invalid max_conns",
			fmt.Sprintf("max_conns must be a whole number from 1 to %d, not %v.", maxMaxConns, n)))
	} else if po.pool != nil {
		po.pool.MaxConns = int32(n)
	}
	return po, diags
}

// describeConn names a database without its password.
func describeConn(c *pgx.ConnConfig) string {
	return fmt.Sprintf("host=%s port=%d dbname=%s user=%s", c.Host, c.Port, c.Database, c.User)
}

// redact masks every occurrence of secret in s; errors of the driver
// name the connection but should never carry its password, and this makes
// sure.
func redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "xxxxx")
}

// redactedError is an error whose text has the secret masked; errors.Is
// and errors.As still see the error it masks.
type redactedError struct {
	err    error
	secret string
}

func (e *redactedError) Error() string { return redact(e.err.Error(), e.secret) }
func (e *redactedError) Unwrap() error { return e.err }

// redactErr masks secret in err's text, if it is there.
func redactErr(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return &redactedError{err: err, secret: secret}
}
