package tracestore

import (
	"encoding/json"
	"testing"
)

// TestConfigDefaults keeps the schema's defaults (the Config tags) and the
// Default* constants the same.
func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	o, diags := configBlock.Decode(json.RawMessage(`{"dir":"d"}`))
	want := options{dir: "d", retention: DefaultRetention, cacheEntries: DefaultCacheEntries,
		learningRate: DefaultLearningRate, deprecateBelow: DefaultDeprecateBelow, minFeedback: DefaultMinFeedback}
	if len(diags) > 0 || o != want {
		t.Errorf("configBlock.Decode = %+v, %+v; want %+v", o, diags, want)
	}
}
