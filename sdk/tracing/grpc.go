package tracing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/proto/pluginv1"
)

// GRPCPlugin is the go-plugin Plugin for the tracing kind. On the plugin
// side Impl is served; on the host side the client is a *GRPCClient.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Tracing
}

func (p *GRPCPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterBaseServer(s, &hostBaseServer{GRPCServer: &base.GRPCServer{Impl: p.Impl}, broker: broker, impl: p.Impl})
	pluginv1.RegisterTracingServer(s, NewGRPCServer(p.Impl))
	return nil
}

func (p *GRPCPlugin) GRPCClient(_ context.Context, broker *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	client := NewGRPCClient(c)
	client.broker = broker
	return client, nil
}

// GRPCServer adapts a Tracing to the generated Tracing service.
type GRPCServer struct {
	pluginv1.UnimplementedTracingServer
	impl Tracing
}

// NewGRPCServer serves impl over gRPC.
func NewGRPCServer(impl Tracing) *GRPCServer {
	return &GRPCServer{impl: impl}
}

func (s *GRPCServer) Record(ctx context.Context, req *pluginv1.RecordRequest) (*pluginv1.RecordResponse, error) {
	in := RecordRequest{Events: make([]Event, 0, len(req.GetEvents()))}
	for _, e := range req.GetEvents() {
		ev := Event{
			Kind: e.GetKind(), TimeUnixNano: e.GetTimeUnixNano(), Session: e.GetSession(), Server: e.GetServer(),
			Method: e.GetMethod(), Name: e.GetName(), URI: e.GetUri(), Arguments: e.GetArgumentsJson(),
			Content: e.GetContentJson(), ContentHash: e.GetContentHash(), SizeBytes: e.GetSizeBytes(), Meta: e.GetMetaJson(),
			ResponseID: e.GetResponseId(), ContextID: e.GetContextId(), ContextType: e.GetContextType(),
			RetrievalScore: e.GetRetrievalScore(), RetrievalSource: e.GetRetrievalSource(),
			TokenEstimate: e.GetTokenEstimate(), Summary: e.GetSummary(), ArgumentsBytes: e.GetArgumentsBytes(),
			Profile: e.GetProfile(),
		}
		for _, u := range e.GetUnits() {
			ev.Units = append(ev.Units, ResponseUnit{ContextID: u.GetContextId(), ContentHash: u.GetContentHash(), Weight: u.GetWeight()})
		}
		in.Events = append(in.Events, ev)
	}
	r, err := s.impl.Record(ctx, in)
	if err != nil {
		return nil, err
	}
	return &pluginv1.RecordResponse{ChangedUris: r.ChangedURIs}, nil
}

func (s *GRPCServer) ListTools(ctx context.Context, req *pluginv1.ListToolsRequest) (*pluginv1.ListToolsResponse, error) {
	r, err := s.impl.ListTools(ctx, ListToolsRequest{Session: req.GetSession()})
	if err != nil {
		return nil, err
	}
	return &pluginv1.ListToolsResponse{ToolsJson: toBytes(r.Tools)}, nil
}

func (s *GRPCServer) CallTool(ctx context.Context, req *pluginv1.CallToolRequest) (*pluginv1.CallToolResponse, error) {
	r, err := s.impl.CallTool(ctx, CallToolRequest{Session: req.GetSession(), Name: req.GetName(), Arguments: req.GetArgumentsJson()})
	if err != nil {
		return nil, err
	}
	return &pluginv1.CallToolResponse{ResultJson: r.Result, ChangedUris: r.ChangedURIs}, nil
}

func (s *GRPCServer) ListResources(ctx context.Context, req *pluginv1.ListResourcesRequest) (*pluginv1.ListResourcesResponse, error) {
	r, err := s.impl.ListResources(ctx, ListResourcesRequest{Session: req.GetSession()})
	if err != nil {
		return nil, err
	}
	return &pluginv1.ListResourcesResponse{ResourcesJson: toBytes(r.Resources), TemplatesJson: toBytes(r.Templates)}, nil
}

func (s *GRPCServer) ReadResource(ctx context.Context, req *pluginv1.ReadResourceRequest) (*pluginv1.ReadResourceResponse, error) {
	r, err := s.impl.ReadResource(ctx, ReadResourceRequest{Session: req.GetSession(), URI: req.GetUri()})
	if err != nil {
		return nil, err
	}
	return &pluginv1.ReadResourceResponse{ResultJson: r.Result}, nil
}

// GRPCClient is a Tracing backed by a plugin process.
type GRPCClient struct {
	*base.GRPCClient
	client pluginv1.TracingClient
	// broker serves the host's services to the plugin (ServeHost).
	broker *plugin.GRPCBroker
}

// NewGRPCClient returns a Tracing that calls the plugin on conn.
func NewGRPCClient(conn grpc.ClientConnInterface) *GRPCClient {
	return &GRPCClient{GRPCClient: base.NewGRPCClient(conn), client: pluginv1.NewTracingClient(conn)}
}

func (c *GRPCClient) Record(ctx context.Context, req RecordRequest) (RecordResponse, error) {
	out := &pluginv1.RecordRequest{Events: make([]*pluginv1.TraceEvent, 0, len(req.Events))}
	for _, e := range req.Events {
		pe := &pluginv1.TraceEvent{
			Kind: e.Kind, TimeUnixNano: e.TimeUnixNano, Session: e.Session, Server: e.Server,
			Method: e.Method, Name: e.Name, Uri: e.URI, ArgumentsJson: e.Arguments,
			ContentJson: e.Content, ContentHash: e.ContentHash, SizeBytes: e.SizeBytes, MetaJson: e.Meta,
			ResponseId: e.ResponseID, ContextId: e.ContextID, ContextType: e.ContextType,
			RetrievalScore: e.RetrievalScore, RetrievalSource: e.RetrievalSource,
			TokenEstimate: e.TokenEstimate, Summary: e.Summary, ArgumentsBytes: e.ArgumentsBytes,
			Profile: e.Profile,
		}
		for _, u := range e.Units {
			pe.Units = append(pe.Units, &pluginv1.ResponseUnit{ContextId: u.ContextID, ContentHash: u.ContentHash, Weight: u.Weight})
		}
		out.Events = append(out.Events, pe)
	}
	r, err := c.client.Record(ctx, out)
	if err != nil {
		return RecordResponse{}, fmt.Errorf("tracing record %d events: %w", len(req.Events), err)
	}
	return RecordResponse{ChangedURIs: r.GetChangedUris()}, nil
}

func (c *GRPCClient) ListTools(ctx context.Context, req ListToolsRequest) (ListToolsResponse, error) {
	r, err := c.client.ListTools(ctx, &pluginv1.ListToolsRequest{Session: req.Session})
	if err != nil {
		return ListToolsResponse{}, fmt.Errorf("tracing list tools: %w", err)
	}
	return ListToolsResponse{Tools: fromBytes(r.GetToolsJson())}, nil
}

func (c *GRPCClient) CallTool(ctx context.Context, req CallToolRequest) (CallToolResponse, error) {
	r, err := c.client.CallTool(ctx, &pluginv1.CallToolRequest{Session: req.Session, Name: req.Name, ArgumentsJson: req.Arguments})
	if err != nil {
		return CallToolResponse{}, fmt.Errorf("tracing call tool %s: %w", req.Name, err)
	}
	return CallToolResponse{Result: r.GetResultJson(), ChangedURIs: r.GetChangedUris()}, nil
}

func (c *GRPCClient) ListResources(ctx context.Context, req ListResourcesRequest) (ListResourcesResponse, error) {
	r, err := c.client.ListResources(ctx, &pluginv1.ListResourcesRequest{Session: req.Session})
	if err != nil {
		return ListResourcesResponse{}, fmt.Errorf("tracing list resources: %w", err)
	}
	return ListResourcesResponse{Resources: fromBytes(r.GetResourcesJson()), Templates: fromBytes(r.GetTemplatesJson())}, nil
}

func (c *GRPCClient) ReadResource(ctx context.Context, req ReadResourceRequest) (ReadResourceResponse, error) {
	r, err := c.client.ReadResource(ctx, &pluginv1.ReadResourceRequest{Session: req.Session, Uri: req.URI})
	if err != nil {
		return ReadResourceResponse{}, fmt.Errorf("tracing read resource %s: %w", req.URI, err)
	}
	return ReadResourceResponse{Result: r.GetResultJson()}, nil
}

func toBytes(raws []json.RawMessage) [][]byte {
	if raws == nil {
		return nil
	}
	out := make([][]byte, len(raws))
	for i, r := range raws {
		out[i] = r
	}
	return out
}

func fromBytes(bs [][]byte) []json.RawMessage {
	if bs == nil {
		return nil
	}
	out := make([]json.RawMessage, len(bs))
	for i, b := range bs {
		out[i] = b
	}
	return out
}

// WatchChanges serves impl's ChangeWatcher, or Unimplemented when impl has
// none. The header goes out once the watch is set up, so the client's
// WatchChanges returns the impl's error rather than a stream that ends at
// once.
func (s *GRPCServer) WatchChanges(req *pluginv1.WatchChangesRequest, stream grpc.ServerStreamingServer[pluginv1.WatchChangesResponse]) error {
	watcher, ok := s.impl.(ChangeWatcher)
	if !ok {
		return status.Error(codes.Unimplemented, "tracing plugin does not watch changes")
	}
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	changes, err := watcher.WatchChanges(ctx, WatchChangesRequest{})
	if err != nil {
		return err
	}
	// The impl closes changes once ctx ends; draining it until then lets
	// an impl blocked on a send see the cancellation.
	defer func() {
		cancel()
		for range changes {
		}
	}()
	if err := stream.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	for change := range changes {
		if err := stream.Send(&pluginv1.WatchChangesResponse{ChangedUris: change.ChangedURIs}); err != nil {
			return err
		}
	}
	return nil
}

// WatchChanges implements ChangeWatcher over the plugin's WatchChanges
// stream. The returned channel is closed when the stream ends, by ctx or
// by the plugin; the goroutine feeding it ends with it.
func (c *GRPCClient) WatchChanges(ctx context.Context, _ WatchChangesRequest) (<-chan WatchChangesResponse, error) {
	stream, err := c.client.WatchChanges(ctx, &pluginv1.WatchChangesRequest{})
	if err != nil {
		return nil, fmt.Errorf("tracing watch changes: %w", err)
	}
	// The server sends the header once watching; no header means the call
	// failed (or ended at once), and Recv says how.
	if header, _ := stream.Header(); header == nil {
		_, err := stream.Recv()
		if err == nil || errors.Is(err, io.EOF) {
			err = errors.New("stream ended before it started")
		}
		return nil, fmt.Errorf("tracing watch changes: %w", err)
	}
	changes := make(chan WatchChangesResponse)
	go func() {
		defer close(changes)
		for {
			msg, err := stream.Recv()
			if err != nil {
				return
			}
			select {
			case changes <- WatchChangesResponse{ChangedURIs: msg.GetChangedUris()}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return changes, nil
}
