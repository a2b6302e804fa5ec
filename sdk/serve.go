package sdk

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/tracing"
	"github.com/mcphost/mcphost/sdk/translator"
	"github.com/mcphost/mcphost/sdk/transport"
	"github.com/mcphost/mcphost/sdk/weighting"
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
// one kind: Serve refuses a config with none or several.
type ServeConfig struct {
	Transport  transport.Transport
	Translator translator.Translator
	Weighting  weighting.Weighting
	Tracing    tracing.Tracing
	// Logger defaults to JSON on stderr, which the host collects.
	Logger hclog.Logger
}

// kinds lists the kinds cfg sets.
func (c ServeConfig) kinds() []string {
	var kinds []string
	for _, k := range Kinds {
		if k.impl(c) != nil {
			kinds = append(kinds, k.Name)
		}
	}
	return kinds
}

// check reports a config that does not set exactly one kind.
func (c ServeConfig) check() error {
	switch kinds := c.kinds(); len(kinds) {
	case 0:
		fields := make([]string, len(Kinds))
		for i, k := range Kinds {
			fields[i] = k.field
		}
		return fmt.Errorf("sdk.Serve: ServeConfig sets no plugin kind; set one of %s", strings.Join(fields, ", "))
	case 1:
		return nil
	default:
		return fmt.Errorf("sdk.Serve: ServeConfig sets %d plugin kinds %v; set exactly one", len(kinds), kinds)
	}
}

// impl returns the implementation cfg sets (the first, if it sets several),
// or nil.
func (c ServeConfig) impl() base.Plugin {
	for _, k := range Kinds {
		if p := k.impl(c); p != nil {
			return p
		}
	}
	return nil
}

// PluginSet returns the go-plugin set that serves cfg's implementation: one
// entry, named by its kind, for every kind cfg sets.
func PluginSet(cfg ServeConfig) plugin.PluginSet {
	set := plugin.PluginSet{}
	for _, k := range Kinds {
		if p := k.impl(cfg); p != nil {
			set[k.Name] = k.GRPCPlugin(p)
		}
	}
	return set
}

// HostPluginSet is the set the host dispenses from: every kind, no impl.
func HostPluginSet() map[int]plugin.PluginSet {
	set := plugin.PluginSet{}
	for _, k := range Kinds {
		set[k.Name] = k.GRPCPlugin(nil)
	}
	return map[int]plugin.PluginSet{ProtocolVersion: set}
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
//
// cfg must set exactly one kind; otherwise Serve writes the problem to
// stderr and exits with status 1.
func Serve(cfg ServeConfig) {
	if err := cfg.check(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	impl := cfg.impl()
	isolateStdin()
	logger := cfg.Logger
	if logger == nil {
		logger = hclog.New(&hclog.LoggerOptions{Output: os.Stderr, JSONFormat: true, Level: hclog.Info})
	}
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		deadline, _ := ctx.Deadline()
		_, _ = impl.Stop(ctx, base.StopRequest{DeadlineUnixNano: deadline.UnixNano()})
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
