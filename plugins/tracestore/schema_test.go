package tracestore

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/mcphost/mcphost/sdk/tracing"
)

// TestOutputSchemas validates every tool's structuredContent, on real
// data, against the outputSchema the tool advertises, and the arguments
// used against its inputSchema.
func TestOutputSchemas(t *testing.T) {
	t.Parallel()
	testOutputSchemas(t, badgerStore)
}

func testOutputSchemas(t *testing.T, s storeUnderTest) {
	p := s.open(t, map[string]any{"store_content": true})
	record(t, p, threeContexts.events(t0)...)
	changed := threeContexts
	changed.resp, changed.texts = "resp_2", []string{"issue 42: fixed", "README contents", "page about badger"}
	record(t, p, changed.events(t0.Add(time.Minute))...)
	callOK[feedbackResult](t, p, "s1", toolSubmitFeedback, map[string]any{"score": -0.4, "text": "meh"})

	list, err := p.ListTools(context.Background(), tracing.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	schemas := map[string][2]*jsonschema.Resolved{}
	for _, raw := range list.Tools {
		var def struct {
			Name         string             `json:"name"`
			InputSchema  *jsonschema.Schema `json:"inputSchema"`
			OutputSchema *jsonschema.Schema `json:"outputSchema"`
		}
		if err := json.Unmarshal(raw, &def); err != nil {
			t.Fatal(err)
		}
		in, err := def.InputSchema.Resolve(nil)
		if err != nil {
			t.Fatalf("%s inputSchema: %v", def.Name, err)
		}
		out, err := def.OutputSchema.Resolve(nil)
		if err != nil {
			t.Fatalf("%s outputSchema: %v", def.Name, err)
		}
		schemas[def.Name] = [2]*jsonschema.Resolved{in, out}
	}

	// The validator does reject what does not match.
	if err := schemas[toolGetTrace][1].Validate(map[string]any{"response_id": "r", "contexts": []any{map[string]any{"context_id": 1}}}); err == nil {
		t.Fatal("an invalid trace passed the outputSchema")
	}

	tests := []struct {
		tool string
		args map[string]any
	}{
		{toolGetTrace, map[string]any{"response_id": "resp_1"}},
		{toolGetTrace, map[string]any{"format": "tree"}},
		{toolGetTrace, map[string]any{"response_id": "latest", "format": "compact"}},
		{toolContextImpact, map[string]any{"context_id": "github/search_issues", "limit": 1}},
		{toolResponseContexts, map[string]any{"response_id": "resp_1", "type": "external"}},
		{toolEvolution, map[string]any{"context_id": "github/search_issues"}},
		{toolSubmitFeedback, map[string]any{"response_id": "resp_1", "score": 1, "text": "great", "user": "u1"}},
	}
	for _, tc := range tests {
		t.Run(tc.tool, func(t *testing.T) {
			t.Parallel()
			s, ok := schemas[tc.tool]
			if !ok {
				t.Fatalf("tool %s not listed", tc.tool)
			}
			if err := s[0].Validate(tc.args); err != nil {
				t.Errorf("arguments %v do not match the inputSchema: %v", tc.args, err)
			}
			res := call(t, p, "s1", tc.tool, tc.args)
			if res.IsError || res.text() == "" {
				t.Fatalf("call failed: %+v", res)
			}
			var structured map[string]any
			if err := json.Unmarshal(res.StructuredContent, &structured); err != nil {
				t.Fatal(err)
			}
			if err := s[1].Validate(structured); err != nil {
				t.Errorf("structuredContent does not match the outputSchema: %v\n%s", err, res.StructuredContent)
			}
		})
	}
}
