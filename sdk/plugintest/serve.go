// Package plugintest helps plugin authors test their plugins: it serves an
// implementation of any kind over real gRPC in-process (ServeTransport,
// ServeTranslator, ServeWeighting, ServeTracing), runs conformance suites
// that every transport should pass (TestTransport) and every tracing store
// (TracingSuite, whose CheckTracing checks the resources the admin API
// reads), checks that a translator's rules agree with its Translate
// (CheckTranslatorRules), and checks that a plugin's module graph holds
// none of the host's modules (CheckModuleGraph).
package plugintest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
	"google.golang.org/grpc"

	"github.com/mcphost/mcphost/sdk"
	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/tracing"
	"github.com/mcphost/mcphost/sdk/translator"
	"github.com/mcphost/mcphost/sdk/transport"
	"github.com/mcphost/mcphost/sdk/weighting"
)

// ServeTransport serves impl in-process behind the same go-plugin gRPC
// server a plugin binary runs (sdk.Serve's plugin set and message limits),
// connects to it as the host does, and returns the dispensed client. All of
// it is torn down by t.Cleanup.
//
// It uses go-plugin's test mode rather than plugin.TestPluginGRPCConn
// because the latter's server keeps gRPC's 4 MiB receive limit, which would
// reject the large messages a real plugin accepts.
func ServeTransport(t testing.TB, impl transport.Transport) transport.Transport {
	t.Helper()
	return serve[*transport.GRPCClient](t, base.KindTransport, sdk.ServeConfig{Transport: impl}, impl)
}

// ServeTranslator is ServeTransport for a translator: the result is a
// *translator.GRPCClient talking to impl over gRPC.
func ServeTranslator(t testing.TB, impl translator.Translator) translator.Translator {
	t.Helper()
	return serve[*translator.GRPCClient](t, base.KindTranslator, sdk.ServeConfig{Translator: impl}, impl)
}

// ServeWeighting is ServeTransport for a weighting: the result is a
// *weighting.GRPCClient talking to impl over gRPC.
func ServeWeighting(t testing.TB, impl weighting.Weighting) weighting.Weighting {
	t.Helper()
	return serve[*weighting.GRPCClient](t, base.KindWeighting, sdk.ServeConfig{Weighting: impl}, impl)
}

// ServeTracing is ServeTransport for a tracing plugin: the result is a
// *tracing.GRPCClient talking to impl over gRPC.
func ServeTracing(t testing.TB, impl tracing.Tracing) tracing.Tracing {
	t.Helper()
	return serve[*tracing.GRPCClient](t, base.KindTracing, sdk.ServeConfig{Tracing: impl}, impl)
}

// serve serves cfg (which sets impl, of kind) and returns the dispensed
// client, of type C.
func serve[C any](t testing.TB, kind string, cfg sdk.ServeConfig, impl base.Plugin) C {
	t.Helper()
	logger := hclog.New(&hclog.LoggerOptions{Name: "plugintest", Level: hclog.Warn, Output: os.Stderr})
	ctx, cancel := context.WithCancel(context.Background())
	reattach := make(chan *plugin.ReattachConfig, 1)
	closed := make(chan struct{})
	limit := sdk.GRPCLimit(sdk.MaxMessageBytes())
	go plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{sdk.ProtocolVersion: sdk.PluginSet(cfg)},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, grpc.MaxRecvMsgSize(limit), grpc.MaxSendMsgSize(limit))
			return grpc.NewServer(opts...)
		},
		Logger: logger,
		Test:   &plugin.ServeTestConfig{Context: ctx, ReattachConfigCh: reattach, CloseCh: closed},
	})
	var rc *plugin.ReattachConfig
	select {
	case rc = <-reattach:
	case <-closed:
		cancel()
		t.Fatal("plugintest: plugin server exited before listening")
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("plugintest: plugin server did not start")
	}
	// The default reattach runner polls our own pid forever; this one ends
	// with the server.
	rc.ReattachFunc = func() (runner.AttachedRunner, error) { return serverRunner{closed: closed}, nil }

	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig: sdk.Handshake,
		// Reattached clients skip version negotiation, so they take the
		// plugin set directly.
		Plugins:          sdk.HostPluginSet()[sdk.ProtocolVersion],
		Reattach:         rc,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           logger,
	})
	// stop cancels the server only if it has not already stopped on its own
	// (the Shutdown RPC of rpc.Close): go-plugin's GRPCServer.Stop is not
	// safe to run twice concurrently.
	stop := func() {
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			cancel()
			select {
			case <-closed:
			case <-time.After(10 * time.Second):
				t.Errorf("plugintest: plugin server did not stop")
			}
		}
		cancel()
		client.Kill()
	}
	rpc, err := client.Client()
	if err != nil {
		cancel()
		stop()
		t.Fatalf("plugintest: connect: %v", err)
	}
	raw, err := rpc.Dispense(kind)
	if err != nil {
		_ = rpc.Close()
		stop()
		t.Fatalf("plugintest: dispense %s: %v", kind, err)
	}
	c, ok := raw.(C)
	if !ok {
		_ = rpc.Close()
		stop()
		t.Fatalf("plugintest: dispense %s: got %T", kind, raw)
	}
	t.Cleanup(func() {
		_ = rpc.Close()
		stop()
		// As sdk.Serve does once go-plugin returns: let the plugin end
		// whatever connections the test left open.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		deadline, _ := ctx.Deadline()
		if _, err := impl.Stop(ctx, base.StopRequest{DeadlineUnixNano: deadline.UnixNano()}); err != nil {
			t.Errorf("plugintest: Stop: %v", err)
		}
	})
	return c
}

// serverRunner stands for the in-process server in go-plugin's client.
type serverRunner struct {
	closed <-chan struct{}
}

func (r serverRunner) Wait(ctx context.Context) error {
	select {
	case <-r.closed:
	case <-ctx.Done():
	}
	return nil
}

// Kill is never called for a test-mode reattach; the server is stopped by
// the Shutdown RPC instead.
func (serverRunner) Kill(context.Context) error { return nil }

func (serverRunner) ID() string { return "plugintest" }

func (serverRunner) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

func (serverRunner) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}
