package sdk

import (
	"context"
	"os"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/transport"
)

// ProtocolVersion is the major version of the plugin protocol. Minor,
// compatible additions are reported by each kind's APIMinor in Info.
const ProtocolVersion = 1

// Handshake is shared by the host and every plugin. It is not a security
// measure; it stops a plugin binary from being run by mistake.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "MCPHOST_PLUGIN",
	MagicCookieValue: "5d1f0c8e-mcphost-plugin",
}

// EnvMaxMessageBytes tells a plugin process how large one gRPC message may
// be; the host sets it from its configured message limit.
const EnvMaxMessageBytes = "MCPHOST_MAX_MESSAGE_BYTES"

// DefaultMaxMessageBytes is the default bound on one JSON-RPC message.
const DefaultMaxMessageBytes = 64 << 20

// grpcHeadroom covers framing around the largest message.
const grpcHeadroom = 1 << 20

// ServeConfig names the implementation a plugin binary serves. Set exactly
// one kind.
type ServeConfig struct {
	Transport transport.Transport
	// Logger defaults to JSON on stderr, which the host collects.
	Logger hclog.Logger
}

// PluginSet returns the go-plugin set that serves cfg's implementation.
func PluginSet(cfg ServeConfig) plugin.PluginSet {
	set := plugin.PluginSet{}
	if cfg.Transport != nil {
		set[base.KindTransport] = &transport.GRPCPlugin{Impl: cfg.Transport}
	}
	return set
}

// HostPluginSet is the set the host dispenses from: every kind, no impl.
func HostPluginSet() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion: {
			base.KindTransport: &transport.GRPCPlugin{},
		},
	}
}

// MaxMessageBytes reads the message bound the host gave this process.
func MaxMessageBytes() int {
	if n, err := strconv.Atoi(os.Getenv(EnvMaxMessageBytes)); err == nil && n > 0 {
		return n
	}
	return DefaultMaxMessageBytes
}

// GRPCLimit is the gRPC message size needed to carry messages of up to
// maxMessageBytes.
func GRPCLimit(maxMessageBytes int) int {
	return maxMessageBytes + grpcHeadroom
}

// Serve runs a plugin. It never reads the host's stdin (the host may be
// speaking MCP on it), keeps stdout silent, raises gRPC message limits to
// the configured message size, and exits when the host process dies.
func Serve(cfg ServeConfig) {
	isolateStdin()
	logger := cfg.Logger
	if logger == nil {
		logger = hclog.New(&hclog.LoggerOptions{Output: os.Stderr, JSONFormat: true, Level: hclog.Info})
	}
	stop := func() {
		if cfg.Transport != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_, _ = cfg.Transport.Stop(ctx, base.StopRequest{DeadlineUnixNano: time.Now().Add(2 * time.Second).UnixNano()})
		}
	}
	go exitWhenOrphaned(os.Getppid(), stop)
	limit := GRPCLimit(MaxMessageBytes())
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{ProtocolVersion: PluginSet(cfg)},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, grpc.MaxRecvMsgSize(limit), grpc.MaxSendMsgSize(limit))
			return grpc.NewServer(opts...)
		},
		Logger: logger,
	})
	stop()
}

// isolateStdin points os.Stdin at /dev/null: go-plugin hands the host's
// stdin to the plugin process, and in stdio mode that is the MCP stream.
func isolateStdin() {
	if f, err := os.Open(os.DevNull); err == nil {
		os.Stdin = f
	}
}

// exitWhenOrphaned exits the process once its parent is gone, even when the
// host was killed with SIGKILL and could not stop it.
func exitWhenOrphaned(parent int, stop func()) {
	for {
		time.Sleep(250 * time.Millisecond)
		if os.Getppid() != parent {
			stop()
			os.Exit(0)
		}
	}
}
