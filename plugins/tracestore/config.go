package tracestore

import (
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

// Config is the `config` block of `plugin "tracing" {}`. Its defaults are
// the Default* constants above (TestConfigDefaults keeps them equal).
type Config struct {
	Dir            string        `json:"dir" config:"required" doc:"Badger directory holding the traces; created if missing. One process owns it and serves it to the tracing plugins of other copies of mcphost on the same machine, which take it over when it goes."`
	StoreContent   bool          `json:"store_content" doc:"Also store each version's raw content, not only its hash, summary and size (default false)."`
	Retention      base.Duration `json:"retention" default:"720h" doc:"How long entries live after their last write, as a duration such as \"720h\" (default 720h); \"0\" keeps them forever."`
	SyncWrites     bool          `json:"sync_writes" doc:"fsync every write before acknowledging it: no loss on power failure, slower ingestion (default false)."`
	CacheEntries   float64       `json:"cache_entries" default:"10000" doc:"Records kept in the in-memory LRU cache in front of the store; 0 disables it (default 10000)."`
	LearningRate   float64       `json:"learning_rate" default:"1" doc:"r in q' = q + r·w·(s − q): how far one feedback moves a context's quality toward the score, in (0, 1] (default 1)."`
	DeprecateBelow float64       `json:"deprecate_below" default:"-0.3" doc:"A context whose quality is at or below this value, in [-1, 1], is deprecated (default -0.3)."`
	MinFeedback    float64       `json:"min_feedback" default:"3" doc:"Feedbacks that must have touched a context before it can be deprecated, at least 1 (default 3)."`
}

// options is a decoded, checked Config.
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

// configBlock is the plugin's config block (Validate checks it without
// opening anything), built once: a bad tag panics at start, not per call.
var configBlock = base.NewBlock(checkOptions)

// checkOptions checks what c's types cannot say, reporting each bad value
// at its attribute.
func checkOptions(c Config) (options, []base.Diagnostic) {
	var diags []base.Diagnostic
	o := options{
		dir:            strings.TrimSpace(c.Dir),
		storeContent:   c.StoreContent,
		retention:      c.Retention.D(),
		syncWrites:     c.SyncWrites,
		cacheEntries:   DefaultCacheEntries,
		learningRate:   DefaultLearningRate,
		deprecateBelow: DefaultDeprecateBelow,
		minFeedback:    DefaultMinFeedback,
	}
	if o.dir != "" {
		if fi, err := os.Stat(o.dir); err == nil && !fi.IsDir() {
			diags = append(diags, base.Error("dir", "dir is not a directory", o.dir+" exists and is not a directory."))
		}
	}
	if o.retention > 0 && o.retention < time.Second {
		// Badger keeps expiry times in whole seconds.
		diags = append(diags, base.Error("retention", "Retention too short", "retention must be 0 (keep forever) or at least 1s."))
		o.retention = DefaultRetention
	}
	if n := c.CacheEntries; !isWhole(n) || n < 0 || n > maxCacheEntries {
		diags = append(diags, base.Error("cache_entries", "Invalid cache_entries",
			fmt.Sprintf("cache_entries must be a whole number from 0 to %d, not %v.", maxCacheEntries, n)))
	} else {
		o.cacheEntries = int(n)
	}
	if r := c.LearningRate; math.IsNaN(r) || r <= 0 || r > 1 {
		diags = append(diags, base.Error("learning_rate", "Invalid learning_rate",
			fmt.Sprintf("learning_rate must be in (0, 1], not %v: above 1 a single feedback would overshoot the score.", r)))
	} else {
		o.learningRate = r
	}
	if t := c.DeprecateBelow; math.IsNaN(t) || t < -1 || t > 1 {
		diags = append(diags, base.Error("deprecate_below", "Invalid deprecate_below",
			fmt.Sprintf("deprecate_below must be in [-1, 1], the range of quality scores, not %v.", t)))
	} else {
		o.deprecateBelow = t
	}
	if n := c.MinFeedback; !isWhole(n) || n < 1 || n > math.MaxUint32 {
		diags = append(diags, base.Error("min_feedback", "Invalid min_feedback",
			fmt.Sprintf("min_feedback must be a whole number of at least 1, not %v.", n)))
	} else {
		o.minFeedback = uint32(n)
	}
	return o, diags
}

func isWhole(f float64) bool {
	return !math.IsNaN(f) && !math.IsInf(f, 0) && f == math.Trunc(f)
}
