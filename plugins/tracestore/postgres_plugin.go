package tracestore

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/tracing"
)

// PostgresPlugin is the built-in tracing-postgres plugin: the tracing
// plugin's tools and resources over a PostgreSQL database that several
// mcphost instances share.
type PostgresPlugin struct {
	*Plugin
	// mu serializes Configure and Stop.
	mu sync.Mutex
}

var (
	_ tracing.Tracing       = (*PostgresPlugin)(nil)
	_ tracing.ChangeWatcher = (*PostgresPlugin)(nil)
)

// pgConnectWait bounds Configure's connecting and migrating when the host
// gives no deadline.
const pgConnectWait = time.Minute

// NewPostgres returns the tracing-postgres plugin. A nil logger logs JSON
// to stderr. The plugin serves nothing until Configure connects.
func NewPostgres(logger hclog.Logger) *PostgresPlugin {
	if logger == nil {
		logger = hclog.New(&hclog.LoggerOptions{Name: "tracing-postgres", Output: os.Stderr, JSONFormat: true, Level: hclog.Info})
	}
	p := New(logger)
	p.Described = base.DescribePlugin(base.InfoResponse{
		Name:     "tracing-postgres",
		Kind:     base.KindTracing,
		Version:  Version,
		APIMinor: tracing.APIMinor,
		Capabilities: []string{tracing.CapabilityWeighsThroughHost, tracing.CapabilityOperatorLatest, tracing.CapabilityToolQuality,
			tracing.CapabilityWatchesChanges},
		Description: "Records the context units delivered to clients in PostgreSQL, shared by several mcphost instances, with " +
			"versions, response lineage and feedback-driven quality scores, and serves the mcp__proxy__tracing__* tools and trace:// resources.",
	}, pgConfigBlock)
	return &PostgresPlugin{Plugin: p}
}

// Configure connects to the database of the config and applies the
// schema it lacks. Configuring again (a reload) connects anew and then
// closes the previous connections, so a bad new DSN leaves the old store
// serving.
func (p *PostgresPlugin) Configure(ctx context.Context, req base.ConfigureRequest) (base.ConfigureResponse, error) {
	o, diags := pgConfigBlock.Decode(req.Config)
	if base.HasErrors(diags) {
		return base.ConfigureResponse{Diagnostics: diags}, nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, pgConnectWait)
		defer cancel()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	st, err := openPostgres(ctx, o, p.logger)
	if err != nil {
		return base.ConfigureResponse{Diagnostics: append(diags, base.Error("dsn", "Cannot open tracing store", err.Error()))}, nil
	}
	if old := p.pg.Swap(st); old != nil {
		old.close()
	}
	p.logger.Info("tracing store open", "database", o.where, "retention", retentionString(o.retention), "store_content", o.storeContent,
		"max_conns", o.pool.MaxConns)
	return base.ConfigureResponse{Diagnostics: diags}, nil
}

// Stop closes the connections, waiting for running operations.
func (p *PostgresPlugin) Stop(context.Context, base.StopRequest) (base.StopResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if st := p.pg.Swap(nil); st != nil {
		st.close()
	}
	return base.StopResponse{}, nil
}

// WatchChanges reports the resources other instances changed in the
// shared database, from their notifications; the channel closes when
// ctx ends or the store closes (Stop, or a reconfiguration).
func (p *PostgresPlugin) WatchChanges(ctx context.Context, _ tracing.WatchChangesRequest) (<-chan tracing.WatchChangesResponse, error) {
	st := p.pg.Load()
	if st == nil {
		return nil, fmt.Errorf("watch changes: %w", errNotConfigured)
	}
	return st.watch.watch(ctx)
}
