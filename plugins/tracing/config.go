package tracing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/mcphost/mcphost/sdk/base"
)

// Defaults of the plugin config.
const (
	DefaultRetention      = 720 * time.Hour
	DefaultCacheEntries   = 10000
	DefaultLearningRate   = 1.0
	DefaultDeprecateBelow = -0.3
	DefaultMinFeedback    = 3
)

// maxCacheEntries bounds cache_entries: each entry is a decoded record of a
// few hundred bytes, so this is already gigabytes.
const maxCacheEntries = 10_000_000

// Config is the `config` block of `plugin "tracing" {}`. Optional numbers
// are pointers so that an absent (or null) attribute means the default
// rather than zero.
type Config struct {
	Dir            string   `json:"dir"`
	StoreContent   bool     `json:"store_content"`
	Retention      string   `json:"retention"`
	SyncWrites     bool     `json:"sync_writes"`
	CacheEntries   *float64 `json:"cache_entries"`
	LearningRate   *float64 `json:"learning_rate"`
	DeprecateBelow *float64 `json:"deprecate_below"`
	MinFeedback    *float64 `json:"min_feedback"`
}

// options is a parsed, validated Config.
type options struct {
	dir            string
	storeContent   bool
	retention      time.Duration // 0: entries never expire
	syncWrites     bool
	cacheEntries   int
	learningRate   float64
	deprecateBelow float64
	minFeedback    uint32
}

func schema() base.Schema {
	return base.Schema{Attributes: []base.Attribute{
		{Name: "dir", Type: base.TypeString, Required: true,
			Description: "Badger directory holding the traces; created if missing. One process owns it and serves it to the tracing plugins of other copies of mcphost on the same machine, which take it over when it goes."},
		{Name: "store_content", Type: base.TypeBool,
			Description: "Also store each version's raw content, not only its hash, summary and size (default false)."},
		{Name: "retention", Type: base.TypeString,
			Description: `How long entries live after their last write, as a duration such as "720h" (default 720h); "0" keeps them forever.`},
		{Name: "sync_writes", Type: base.TypeBool,
			Description: "fsync every write before acknowledging it: no loss on power failure, slower ingestion (default false)."},
		{Name: "cache_entries", Type: base.TypeNumber,
			Description: "Records kept in the in-memory LRU cache in front of the store; 0 disables it (default 10000)."},
		{Name: "learning_rate", Type: base.TypeNumber,
			Description: "r in q' = q + r·w·(s − q): how far one feedback moves a context's quality toward the score, in (0, 1] (default 1)."},
		{Name: "deprecate_below", Type: base.TypeNumber,
			Description: "A context whose quality is at or below this value, in [-1, 1], is deprecated (default -0.3)."},
		{Name: "min_feedback", Type: base.TypeNumber,
			Description: "Feedbacks that must have touched a context before it can be deprecated, at least 1 (default 3)."},
	}}
}

// parseConfig decodes and validates the plugin config, reporting each bad
// value at its attribute.
func parseConfig(raw json.RawMessage) (options, []base.Diagnostic) {
	o := options{
		retention:      DefaultRetention,
		cacheEntries:   DefaultCacheEntries,
		learningRate:   DefaultLearningRate,
		deprecateBelow: DefaultDeprecateBelow,
		minFeedback:    DefaultMinFeedback,
	}
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		raw = []byte("{}")
	}
	var c Config
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return o, []base.Diagnostic{base.Error("", "Invalid tracing plugin config", err.Error())}
	}
	var diags []base.Diagnostic
	o.dir = strings.TrimSpace(c.Dir)
	if o.dir == "" {
		diags = append(diags, base.Error("dir", "Missing dir", "The tracing plugin needs the directory of its Badger store."))
	} else if fi, err := os.Stat(o.dir); err == nil && !fi.IsDir() {
		diags = append(diags, base.Error("dir", "dir is not a directory", o.dir+" exists and is not a directory."))
	}
	o.storeContent = c.StoreContent
	o.syncWrites = c.SyncWrites
	if r := strings.TrimSpace(c.Retention); r != "" {
		d, err := time.ParseDuration(r)
		switch {
		case err != nil:
			diags = append(diags, base.Error("retention", "Invalid duration", err.Error()))
		case d < 0:
			diags = append(diags, base.Error("retention", "Invalid duration", "retention must not be negative."))
		case d > 0 && d < time.Second:
			// Badger keeps expiry times in whole seconds.
			diags = append(diags, base.Error("retention", "Retention too short", "retention must be 0 (keep forever) or at least 1s."))
		default:
			o.retention = d
		}
	}
	if c.CacheEntries != nil {
		n := *c.CacheEntries
		if !isWhole(n) || n < 0 || n > maxCacheEntries {
			diags = append(diags, base.Error("cache_entries", "Invalid cache_entries",
				fmt.Sprintf("cache_entries must be a whole number from 0 to %d, not %v.", maxCacheEntries, n)))
		} else {
			o.cacheEntries = int(n)
		}
	}
	if c.LearningRate != nil {
		r := *c.LearningRate
		if math.IsNaN(r) || r <= 0 || r > 1 {
			diags = append(diags, base.Error("learning_rate", "Invalid learning_rate",
				fmt.Sprintf("learning_rate must be in (0, 1], not %v: above 1 a single feedback would overshoot the score.", r)))
		} else {
			o.learningRate = r
		}
	}
	if c.DeprecateBelow != nil {
		t := *c.DeprecateBelow
		if math.IsNaN(t) || t < -1 || t > 1 {
			diags = append(diags, base.Error("deprecate_below", "Invalid deprecate_below",
				fmt.Sprintf("deprecate_below must be in [-1, 1], the range of quality scores, not %v.", t)))
		} else {
			o.deprecateBelow = t
		}
	}
	if c.MinFeedback != nil {
		n := *c.MinFeedback
		if !isWhole(n) || n < 1 || n > math.MaxUint32 {
			diags = append(diags, base.Error("min_feedback", "Invalid min_feedback",
				fmt.Sprintf("min_feedback must be a whole number of at least 1, not %v.", n)))
		} else {
			o.minFeedback = uint32(n)
		}
	}
	return o, diags
}

func isWhole(f float64) bool {
	return !math.IsNaN(f) && !math.IsInf(f, 0) && f == math.Trunc(f)
}

// hasErrors reports whether diags hold an error.
func hasErrors(diags []base.Diagnostic) bool {
	for _, d := range diags {
		if d.Severity == base.SeverityError {
			return true
		}
	}
	return false
}
