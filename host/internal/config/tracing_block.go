package config

import (
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

var tracingSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "enabled"}, {Name: "plugin"}, {Name: "weighting"}, {Name: "store_dir"}, {Name: "idle_gap"},
		{Name: "max_units"}, {Name: "queue"}, {Name: "queue_bytes"}, {Name: "batch"}, {Name: "default_retrieval_score"},
		{Name: "store_content"},
	},
}

func (d *decoder) decodeTracing(b *hcl.Block, t *Tracing) {
	t.DeclRange, t.Enabled = b.DefRange, true
	content, diags := b.Body.Content(tracingSchema)
	d.add(diags...)
	attrs := content.Attributes
	if attr, ok := attrs["enabled"]; ok {
		if v, ok := d.eval(attr, cty.Bool); ok && !v.IsNull() {
			t.Enabled = v.True()
		}
	}
	decodeAttr(attrs, "plugin", d.evalString, &t.Plugin)
	decodeAttr(attrs, "weighting", d.evalString, &t.Weighting)
	if attr, ok := attrs["store_dir"]; ok {
		if s, ok := d.evalString(attr); ok && s != "" {
			t.StoreDir = s
			if !filepath.IsAbs(s) {
				t.StoreDir = filepath.Join(d.dir, s)
			}
		}
	}
	if attr, ok := attrs["store_content"]; ok {
		if v, ok := d.eval(attr, cty.Bool); ok && !v.IsNull() {
			t.StoreContent = v.True()
		}
	}
	decodeAttr(attrs, "idle_gap", d.evalDuration, &t.IdleGap)
	decodeAttr(attrs, "max_units", d.evalCount, &t.MaxUnits)
	decodeAttr(attrs, "queue", d.evalCount, &t.Queue)
	if attr, ok := attrs["queue_bytes"]; ok {
		if n, ok := d.evalInt(attr); ok {
			if n < MinTraceQueueBytes {
				d.errorf(attr.Expr.Range(), "Invalid queue_bytes",
					"queue_bytes must be at least %d (1 MiB); got %d.", MinTraceQueueBytes, n)
			} else {
				t.QueueBytes = n
			}
		}
	}
	decodeAttr(attrs, "batch", d.evalCount, &t.Batch)
	if attr, ok := attrs["default_retrieval_score"]; ok {
		if v, ok := d.eval(attr, cty.Number); ok && !v.IsNull() {
			f, _ := v.AsBigFloat().Float64()
			if f < 0 || f > 1 {
				d.errorf(attr.Expr.Range(), "Invalid default_retrieval_score", "default_retrieval_score must be between 0 and 1; got %g.", f)
			} else {
				t.DefaultRetrievalScore = f
			}
		}
	}
}
