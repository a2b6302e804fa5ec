package translator

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/proto/pluginv1"
)

// GRPCPlugin is the go-plugin Plugin for the translator kind. On the plugin
// side Impl is served; on the host side the client is a *GRPCClient.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Translator
}

func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterBaseServer(s, &base.GRPCServer{Impl: p.Impl})
	pluginv1.RegisterTranslatorServer(s, NewGRPCServer(p.Impl))
	return nil
}

func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return NewGRPCClient(c), nil
}

// GRPCServer adapts a Translator to the generated Translator service.
type GRPCServer struct {
	pluginv1.UnimplementedTranslatorServer
	impl Translator
}

// NewGRPCServer serves impl over gRPC.
func NewGRPCServer(impl Translator) *GRPCServer {
	return &GRPCServer{impl: impl}
}

func (s *GRPCServer) Rules(ctx context.Context, _ *pluginv1.RulesRequest) (*pluginv1.RulesResponse, error) {
	r, err := s.impl.Rules(ctx, RulesRequest{})
	if err != nil {
		return nil, err
	}
	out := &pluginv1.RulesResponse{Rules: make([]*pluginv1.TranslationRule, 0, len(r.Rules))}
	for _, rule := range r.Rules {
		out.Rules = append(out.Rules, ruleToProto(rule))
	}
	return out, nil
}

func (s *GRPCServer) Translate(ctx context.Context, req *pluginv1.TranslateRequest) (*pluginv1.TranslateResponse, error) {
	r, err := s.impl.Translate(ctx, TranslateRequest{
		From: req.GetFrom(), To: req.GetTo(), Direction: Direction(req.GetDirection()),
		Method: req.GetMethod(), Kind: req.GetKind(), Message: req.GetMessage(),
		Session: Session{
			ClientCapabilities: req.GetSession().GetClientCapabilities(),
			ClientInfo:         req.GetSession().GetClientInfo(),
			LogLevel:           req.GetSession().GetLogLevel(),
		},
	})
	if err != nil {
		return nil, err
	}
	// Message is optional on the wire, so nil (unchanged) and empty (a
	// replacement) stay apart.
	return &pluginv1.TranslateResponse{Message: r.Message, Drop: r.Drop, Extra: r.Extra}, nil
}

// GRPCClient is a Translator backed by a plugin process.
type GRPCClient struct {
	*base.GRPCClient
	client pluginv1.TranslatorClient
}

// NewGRPCClient returns a Translator that calls the plugin on conn.
func NewGRPCClient(conn grpc.ClientConnInterface) *GRPCClient {
	return &GRPCClient{GRPCClient: base.NewGRPCClient(conn), client: pluginv1.NewTranslatorClient(conn)}
}

func (c *GRPCClient) Rules(ctx context.Context, _ RulesRequest) (RulesResponse, error) {
	r, err := c.client.Rules(ctx, &pluginv1.RulesRequest{})
	if err != nil {
		return RulesResponse{}, fmt.Errorf("translator rules: %w", err)
	}
	var out RulesResponse
	for _, rule := range r.GetRules() {
		out.Rules = append(out.Rules, ruleFromProto(rule))
	}
	return out, nil
}

func (c *GRPCClient) Translate(ctx context.Context, req TranslateRequest) (TranslateResponse, error) {
	r, err := c.client.Translate(ctx, &pluginv1.TranslateRequest{
		From: req.From, To: req.To, Direction: pluginv1.Direction(req.Direction),
		Method: req.Method, Kind: req.Kind, Message: req.Message,
		Session: &pluginv1.SessionInfo{
			ClientCapabilities: req.Session.ClientCapabilities,
			ClientInfo:         req.Session.ClientInfo,
			LogLevel:           req.Session.LogLevel,
		},
	})
	if err != nil {
		return TranslateResponse{}, fmt.Errorf("translate %s %s: %w", req.Kind, req.Method, err)
	}
	return TranslateResponse{Message: r.GetMessage(), Drop: r.GetDrop(), Extra: r.GetExtra()}, nil
}

// ruleToProto and ruleFromProto carry a rule across gRPC. Empty lists and
// strings travel as absent fields and come back as nil and "", which mean
// the same.
func ruleToProto(r Rule) *pluginv1.TranslationRule {
	out := &pluginv1.TranslationRule{
		From: r.From, To: r.To, Direction: pluginv1.Direction(r.Direction), Methods: r.Methods,
		Kinds: r.Kinds, HostOnly: r.HostOnly,
	}
	for _, c := range r.When {
		out.When = append(out.When, &pluginv1.TranslationCondition{
			Contains: bytesOf(c.Contains), Path: c.Path, Is: c.Is, IsNot: c.IsNot, Equals: bytesOf(c.Equals),
		})
	}
	for _, e := range r.Edits {
		out.Edits = append(out.Edits, &pluginv1.TranslationEdit{
			Op: pluginv1.EditOp(e.Op), Path: e.Path, Value: bytesOf(e.Value),
			FromSession: pluginv1.SessionField(e.FromSession), IfEquals: bytesOf(e.IfEquals), Prune: e.Prune,
			From: e.From,
		})
	}
	return out
}

func ruleFromProto(r *pluginv1.TranslationRule) Rule {
	out := Rule{
		From: r.GetFrom(), To: r.GetTo(), Direction: Direction(r.GetDirection()), Methods: r.GetMethods(),
		Kinds: r.GetKinds(), HostOnly: r.GetHostOnly(),
	}
	for _, c := range r.GetWhen() {
		out.When = append(out.When, Condition{
			Contains: string(c.GetContains()), Path: c.GetPath(), Is: c.GetIs(), IsNot: c.GetIsNot(), Equals: string(c.GetEquals()),
		})
	}
	for _, e := range r.GetEdits() {
		out.Edits = append(out.Edits, Edit{
			Op: EditOp(e.GetOp()), Path: e.GetPath(), Value: string(e.GetValue()),
			FromSession: SessionField(e.GetFromSession()), IfEquals: string(e.GetIfEquals()), Prune: e.GetPrune(),
			From: e.GetFrom(),
		})
	}
	return out
}

// bytesOf is s as bytes, nil when empty.
func bytesOf(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}
