package weighting

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/proto/pluginv1"
)

// GRPCPlugin is the go-plugin Plugin for the weighting kind. On the plugin
// side Impl is served; on the host side the client is a *GRPCClient.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Weighting
}

func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterBaseServer(s, &base.GRPCServer{Impl: p.Impl})
	pluginv1.RegisterWeightingServer(s, NewGRPCServer(p.Impl))
	return nil
}

func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return NewGRPCClient(c), nil
}

// GRPCServer adapts a Weighting to the generated Weighting service.
type GRPCServer struct {
	pluginv1.UnimplementedWeightingServer
	impl Weighting
}

// NewGRPCServer serves impl over gRPC.
func NewGRPCServer(impl Weighting) *GRPCServer {
	return &GRPCServer{impl: impl}
}

func (s *GRPCServer) Weigh(ctx context.Context, req *pluginv1.WeighRequest) (*pluginv1.WeighResponse, error) {
	in := WeighRequest{NowUnixNano: req.GetNowUnixNano()}
	for _, u := range req.GetUnits() {
		in.Units = append(in.Units, Unit{
			ID: u.GetId(), Type: u.GetType(), RetrievalScore: u.GetRetrievalScore(), CreatedUnixNano: u.GetCreatedUnixNano(),
			SizeBytes: u.GetSizeBytes(), TokenEstimate: u.GetTokenEstimate(), Source: u.GetSource(),
		})
	}
	r, err := s.impl.Weigh(ctx, in)
	if err != nil {
		return nil, err
	}
	return &pluginv1.WeighResponse{Weights: r.Weights}, nil
}

// GRPCClient is a Weighting backed by a plugin process.
type GRPCClient struct {
	*base.GRPCClient
	client pluginv1.WeightingClient
}

// NewGRPCClient returns a Weighting that calls the plugin on conn.
func NewGRPCClient(conn grpc.ClientConnInterface) *GRPCClient {
	return &GRPCClient{GRPCClient: base.NewGRPCClient(conn), client: pluginv1.NewWeightingClient(conn)}
}

func (c *GRPCClient) Weigh(ctx context.Context, req WeighRequest) (WeighResponse, error) {
	out := &pluginv1.WeighRequest{NowUnixNano: req.NowUnixNano, Units: make([]*pluginv1.ContextUnit, 0, len(req.Units))}
	for _, u := range req.Units {
		out.Units = append(out.Units, &pluginv1.ContextUnit{
			Id: u.ID, Type: u.Type, RetrievalScore: u.RetrievalScore, CreatedUnixNano: u.CreatedUnixNano,
			SizeBytes: u.SizeBytes, TokenEstimate: u.TokenEstimate, Source: u.Source,
		})
	}
	r, err := c.client.Weigh(ctx, out)
	if err != nil {
		return WeighResponse{}, fmt.Errorf("weigh %d units: %w", len(req.Units), err)
	}
	return WeighResponse{Weights: r.GetWeights()}, nil
}
