package tracing

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/proto/pluginv1"
	"github.com/mcphost/mcphost/sdk/weighting"
)

// Host is what the host offers a tracing plugin: the weighting plugin the
// proxy is configured with, reached through the host, so that swapping it
// in proxy.hcl needs nothing from the tracing plugin.
type Host interface {
	Weigh(ctx context.Context, req weighting.WeighRequest) (weighting.WeighResponse, error)
}

// CapabilityWeighsThroughHost, in a tracing plugin's Info capabilities,
// says that it weighs each response itself, through Host: the host then
// sends responses unweighed. Without it the host weighs them.
const CapabilityWeighsThroughHost = "weighs_through_host"

// CapabilityOperatorLatest, in a tracing plugin's Info capabilities, says
// that for OperatorSession it resolves the response id "latest" itself, as
// the newest response of any session recorded in its store (by any host
// sharing it). Without it the host resolves "latest" for an operator to
// the newest response it recorded itself. (API minor 3.)
const CapabilityOperatorLatest = "operator_latest"

// OperatorSession is the session of the tool calls and resource reads the
// host makes for an operator (the admin API, `mcphost trace`) rather than
// for a client. Client session ids are random and never equal it.
const OperatorSession = "admin"

// OperatorCallPrefix starts the session id of every request an operator
// makes through the router as if it were a client (the admin API's
// POST /api/v1/tools/{name}/call, prompts/{name}/get and resources/read):
// those requests reach backends and are traced like a client's, and a
// tracing plugin tells them apart by this prefix (the built-in shows them
// with origin "admin"). Client session ids are base32hex (0-9, a-v) and
// never contain '-', so they never start with it.
const OperatorCallPrefix = "admin-"

// IsOperatorCall reports whether session is that of a request an operator
// made through the router (see OperatorCallPrefix).
func IsOperatorCall(session string) bool { return strings.HasPrefix(session, OperatorCallPrefix) }

// HostUser is implemented by a Tracing that calls back into the host. The
// host hands it the Host before Configure: over the go-plugin broker for a
// plugin process (ConfigureRequest.BrokerID), directly in-process.
type HostUser interface {
	UseHost(h Host)
}

// hostBaseServer is the base service of a tracing plugin that dials the
// host's services on the broker when Configure names them.
type hostBaseServer struct {
	*base.GRPCServer
	broker *plugin.GRPCBroker
	impl   Tracing
}

func (s *hostBaseServer) Configure(ctx context.Context, req *pluginv1.ConfigureRequest) (*pluginv1.ConfigureResponse, error) {
	if id := req.GetBrokerId(); id != 0 && s.broker != nil {
		if user, ok := s.impl.(HostUser); ok {
			conn, err := s.broker.Dial(id)
			if err != nil {
				return nil, fmt.Errorf("dial the host's services (broker id %d): %w", id, err)
			}
			user.UseHost(weighting.NewGRPCClient(conn))
		}
	}
	return s.GRPCServer.Configure(ctx, req)
}

// ServeHost serves h to the plugin on the go-plugin broker and returns the
// broker id to send as ConfigureRequest.BrokerID. It is for the host.
func (c *GRPCClient) ServeHost(h Host) (uint32, error) {
	if c.broker == nil {
		return 0, fmt.Errorf("tracing client has no go-plugin broker")
	}
	id := c.broker.NextId()
	go c.broker.AcceptAndServe(id, func(opts []grpc.ServerOption) *grpc.Server {
		s := grpc.NewServer(opts...)
		pluginv1.RegisterWeightingServer(s, weighting.NewGRPCServer(hostWeighting{h: h}))
		return s
	})
	return id, nil
}

// hostWeighting serves a Host as the weighting service on the broker.
type hostWeighting struct {
	base.Unimplemented
	h Host
}

func (w hostWeighting) Info(context.Context, base.InfoRequest) (base.InfoResponse, error) {
	return base.InfoResponse{Name: "host", Kind: base.KindWeighting}, nil
}

func (w hostWeighting) Weigh(ctx context.Context, req weighting.WeighRequest) (weighting.WeighResponse, error) {
	return w.h.Weigh(ctx, req)
}
