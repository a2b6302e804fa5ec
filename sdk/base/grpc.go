package base

import (
	"context"
	"fmt"

	"google.golang.org/grpc"

	"github.com/mcphost/mcphost/sdk/proto/pluginv1"
)

// GRPCServer adapts a Plugin to the generated Base service.
type GRPCServer struct {
	pluginv1.UnimplementedBaseServer
	Impl Plugin
}

func (s *GRPCServer) Info(ctx context.Context, _ *pluginv1.InfoRequest) (*pluginv1.InfoResponse, error) {
	r, err := s.Impl.Info(ctx, InfoRequest{})
	if err != nil {
		return nil, err
	}
	return &pluginv1.InfoResponse{
		Name: r.Name, Kind: r.Kind, Version: r.Version, ApiMinor: r.APIMinor,
		Capabilities: r.Capabilities, McpProtocolVersions: r.MCPProtocolVersions, Description: r.Description,
	}, nil
}

func (s *GRPCServer) Schema(ctx context.Context, _ *pluginv1.SchemaRequest) (*pluginv1.SchemaResponse, error) {
	r, err := s.Impl.Schema(ctx, SchemaRequest{})
	if err != nil {
		return nil, err
	}
	return &pluginv1.SchemaResponse{Plugin: schemaToProto(r.Plugin), Instance: schemaToProto(r.Instance)}, nil
}

func (s *GRPCServer) Validate(ctx context.Context, req *pluginv1.ValidateRequest) (*pluginv1.ValidateResponse, error) {
	r, err := s.Impl.Validate(ctx, ValidateRequest{Config: req.GetConfigJson()})
	if err != nil {
		return nil, err
	}
	return &pluginv1.ValidateResponse{Diagnostics: diagsToProto(r.Diagnostics)}, nil
}

func (s *GRPCServer) Configure(ctx context.Context, req *pluginv1.ConfigureRequest) (*pluginv1.ConfigureResponse, error) {
	r, err := s.Impl.Configure(ctx, ConfigureRequest{
		Config: req.GetConfigJson(), BrokerID: req.GetBrokerId(), MaxMessageBytes: req.GetMaxMessageBytes(),
	})
	if err != nil {
		return nil, err
	}
	return &pluginv1.ConfigureResponse{Diagnostics: diagsToProto(r.Diagnostics)}, nil
}

func (s *GRPCServer) Stop(ctx context.Context, req *pluginv1.StopRequest) (*pluginv1.StopResponse, error) {
	if _, err := s.Impl.Stop(ctx, StopRequest{DeadlineUnixNano: req.GetDeadlineUnixNano()}); err != nil {
		return nil, err
	}
	return &pluginv1.StopResponse{}, nil
}

func (s *GRPCServer) Metrics(ctx context.Context, _ *pluginv1.MetricsRequest) (*pluginv1.MetricsResponse, error) {
	r, err := s.Impl.Metrics(ctx, MetricsRequest{})
	if err != nil {
		return nil, err
	}
	return &pluginv1.MetricsResponse{PrometheusText: r.PrometheusText}, nil
}

// GRPCClient is a Plugin backed by a remote Base service.
type GRPCClient struct {
	Client pluginv1.BaseClient
}

// NewGRPCClient returns a Plugin that calls the Base service on conn.
func NewGRPCClient(conn grpc.ClientConnInterface) *GRPCClient {
	return &GRPCClient{Client: pluginv1.NewBaseClient(conn)}
}

func (c *GRPCClient) Info(ctx context.Context, _ InfoRequest) (InfoResponse, error) {
	r, err := c.Client.Info(ctx, &pluginv1.InfoRequest{})
	if err != nil {
		return InfoResponse{}, fmt.Errorf("plugin info: %w", err)
	}
	return InfoResponse{
		Name: r.GetName(), Kind: r.GetKind(), Version: r.GetVersion(), APIMinor: r.GetApiMinor(),
		Capabilities: r.GetCapabilities(), MCPProtocolVersions: r.GetMcpProtocolVersions(), Description: r.GetDescription(),
	}, nil
}

func (c *GRPCClient) Schema(ctx context.Context, _ SchemaRequest) (SchemaResponse, error) {
	r, err := c.Client.Schema(ctx, &pluginv1.SchemaRequest{})
	if err != nil {
		return SchemaResponse{}, fmt.Errorf("plugin schema: %w", err)
	}
	return SchemaResponse{Plugin: schemaFromProto(r.GetPlugin()), Instance: schemaFromProto(r.GetInstance())}, nil
}

func (c *GRPCClient) Validate(ctx context.Context, req ValidateRequest) (ValidateResponse, error) {
	r, err := c.Client.Validate(ctx, &pluginv1.ValidateRequest{ConfigJson: req.Config})
	if err != nil {
		return ValidateResponse{}, fmt.Errorf("plugin validate: %w", err)
	}
	return ValidateResponse{Diagnostics: diagsFromProto(r.GetDiagnostics())}, nil
}

func (c *GRPCClient) Configure(ctx context.Context, req ConfigureRequest) (ConfigureResponse, error) {
	r, err := c.Client.Configure(ctx, &pluginv1.ConfigureRequest{
		ConfigJson: req.Config, BrokerId: req.BrokerID, MaxMessageBytes: req.MaxMessageBytes,
	})
	if err != nil {
		return ConfigureResponse{}, fmt.Errorf("plugin configure: %w", err)
	}
	return ConfigureResponse{Diagnostics: diagsFromProto(r.GetDiagnostics())}, nil
}

func (c *GRPCClient) Stop(ctx context.Context, req StopRequest) (StopResponse, error) {
	if _, err := c.Client.Stop(ctx, &pluginv1.StopRequest{DeadlineUnixNano: req.DeadlineUnixNano}); err != nil {
		return StopResponse{}, fmt.Errorf("plugin stop: %w", err)
	}
	return StopResponse{}, nil
}

func (c *GRPCClient) Metrics(ctx context.Context, _ MetricsRequest) (MetricsResponse, error) {
	r, err := c.Client.Metrics(ctx, &pluginv1.MetricsRequest{})
	if err != nil {
		return MetricsResponse{}, fmt.Errorf("plugin metrics: %w", err)
	}
	return MetricsResponse{PrometheusText: r.GetPrometheusText()}, nil
}

func schemaToProto(s Schema) *pluginv1.Schema {
	out := &pluginv1.Schema{}
	for _, a := range s.Attributes {
		out.Attributes = append(out.Attributes, &pluginv1.Attribute{
			Name: a.Name, TypeJson: a.Type, Required: a.Required, Sensitive: a.Sensitive, Description: a.Description,
			DefaultJson: a.Default,
		})
	}
	return out
}

func schemaFromProto(s *pluginv1.Schema) Schema {
	var out Schema
	for _, a := range s.GetAttributes() {
		out.Attributes = append(out.Attributes, Attribute{
			Name: a.GetName(), Type: a.GetTypeJson(), Required: a.GetRequired(), Sensitive: a.GetSensitive(), Description: a.GetDescription(),
			Default: a.GetDefaultJson(),
		})
	}
	return out
}

func diagsToProto(ds []Diagnostic) []*pluginv1.Diagnostic {
	out := make([]*pluginv1.Diagnostic, 0, len(ds))
	for _, d := range ds {
		out = append(out, &pluginv1.Diagnostic{Severity: d.Severity, Summary: d.Summary, Detail: d.Detail, Attribute: d.Attribute})
	}
	return out
}

func diagsFromProto(ds []*pluginv1.Diagnostic) []Diagnostic {
	out := make([]Diagnostic, 0, len(ds))
	for _, d := range ds {
		out = append(out, Diagnostic{Severity: d.GetSeverity(), Summary: d.GetSummary(), Detail: d.GetDetail(), Attribute: d.GetAttribute()})
	}
	return out
}
