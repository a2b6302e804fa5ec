package tracestore

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestInputSchemasKeepConstraints checks the inputSchemas generated from
// the argument structs against the hand-written schemas they replaced:
// the same properties, types, required arguments, enums, bounds, lengths,
// defaults and descriptions.
func TestInputSchemasKeepConstraints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tool string
		want string
	}{
		{toolGetTrace, `{"properties":{"format":{"default":"json","description":"Text rendering of the result.","enum":["json","tree","compact"],"type":"string"},"response_id":{"default":"latest","description":"A response id (from a traced result's _meta), or \"latest\" for this session's most recent finalized response.","type":"string"}},"type":"object"}`},
		{toolContextImpact, `{"properties":{"context_id":{"description":"A context id, as listed by get_trace or get_response_contexts.","type":"string"},"limit":{"default":100,"description":"Most responses to list; all are counted.","maximum":1000,"minimum":1,"type":"integer"}},"required":["context_id"],"type":"object"}`},
		{toolResponseContexts, `{"properties":{"response_id":{"default":"latest","description":"A response id (from a traced result's _meta), or \"latest\" for this session's most recent finalized response.","type":"string"},"type":{"description":"Only contexts of this type: external (tool results), system (resources), user (prompts), model_state.","enum":["external","system","user","model_state"],"type":"string"}},"type":"object"}`},
		{toolEvolution, `{"properties":{"context_id":{"description":"A context id, as listed by get_trace or get_response_contexts.","type":"string"}},"required":["context_id"],"type":"object"}`},
		{toolSubmitFeedback, `{"properties":{"response_id":{"default":"latest","description":"A response id (from a traced result's _meta), or \"latest\" for this session's most recent finalized response.","type":"string"},"score":{"description":"Score from -1 to 1.","maximum":1,"minimum":-1,"type":"number"},"text":{"description":"Optional comment.","maxLength":4096,"type":"string"},"user":{"description":"Optional id of who gives the feedback.","maxLength":256,"type":"string"}},"required":["score"],"type":"object"}`},
	}
	defs := map[string]any{}
	for _, d := range toolDefs() {
		defs[d["name"].(string)] = d["inputSchema"]
	}
	if len(defs) != len(tests) {
		t.Errorf("%d tools, want %d", len(defs), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.tool, func(t *testing.T) {
			t.Parallel()
			raw, err := json.Marshal(defs[tt.tool])
			if err != nil {
				t.Fatal(err)
			}
			var got, want any
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("inputSchema\n got %s\nwant %s", raw, tt.want)
			}
		})
	}
}
