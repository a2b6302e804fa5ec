package config

import (
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Activity is the `activity` block: the log of every tools/call,
// prompts/get and resources/read through the proxy. The last Recent
// records are always kept in memory for the admin API; they go to a file
// only when File is set.
type Activity struct {
	DeclRange hcl.Range
	// File is the JSON-lines file (absolute; "" for none). It must end in
	// ".log": rotated files are <file>.1 … <file>.<MaxFiles>.
	File     string
	MaxBytes int64
	MaxFiles int
	// Recent is how many records the admin API can show.
	Recent int
	// IncludeArguments and IncludeResults put the calls' arguments and
	// results in the records (secrets redacted), each up to
	// MaxCaptureBytes; larger ones are left out, their size kept.
	IncludeArguments bool
	IncludeResults   bool
	MaxCaptureBytes  int
}

// Activity defaults.
const (
	DefaultActivityMaxBytes        = 10 << 20
	DefaultActivityMaxFiles        = 5
	DefaultActivityRecent          = 1000
	MaxActivityRecent              = 100000
	DefaultActivityMaxCaptureBytes = 16 << 10
)

func defaultActivity() Activity {
	return Activity{
		MaxBytes: DefaultActivityMaxBytes, MaxFiles: DefaultActivityMaxFiles, Recent: DefaultActivityRecent,
		MaxCaptureBytes: DefaultActivityMaxCaptureBytes,
	}
}

var activitySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "file"}, {Name: "max_bytes"}, {Name: "max_files"}, {Name: "recent"},
		{Name: "include_arguments"}, {Name: "include_results"}, {Name: "max_capture_bytes"},
	},
}

// decodeActivityBlocks fills cfg.Activity from the activity blocks (at
// most one). logDir is the proxy's log_dir, which the file must not be in:
// the two rotate with their own limits.
func (d *decoder) decodeActivityBlocks(blocks []*hcl.Block, a *Activity, logDir string) {
	*a = defaultActivity()
	if b := d.onlyOne(blocks); b != nil {
		d.decodeActivity(b, a, logDir)
	}
}

func (d *decoder) decodeActivity(b *hcl.Block, a *Activity, logDir string) {
	a.DeclRange = b.DefRange
	content, diags := b.Body.Content(activitySchema)
	d.add(diags...)
	attrs := content.Attributes
	if attr, ok := attrs["file"]; ok {
		if s, ok := d.evalString(attr); ok && s != "" {
			path := s
			if !filepath.IsAbs(path) {
				path = filepath.Join(d.dir, path)
			}
			path = filepath.Clean(path)
			base := filepath.Base(path)
			switch {
			case !strings.HasSuffix(base, ".log") || len(base) == len(".log") || strings.HasPrefix(base, "."):
				d.errorf(attr.Expr.Range(), "Invalid activity file",
					"file must name a file ending in \".log\" (rotated files are <file>.1, <file>.2, …), not starting with '.'; got %q.", s)
			case filepath.Dir(path) == filepath.Clean(logDir):
				d.errorf(attr.Expr.Range(), "Invalid activity file",
					"file must not be in proxy.log_dir (%s), whose server logs rotate with their own limits; choose another directory.", logDir)
			default:
				a.File = path
			}
		}
	}
	decodeAttr(attrs, "max_bytes", d.atLeast(4096), &a.MaxBytes)
	decodeAttr(attrs, "max_files", d.evalCount, &a.MaxFiles)
	if attr, ok := attrs["recent"]; ok {
		if n, ok := d.evalCount(attr); ok {
			if n > MaxActivityRecent {
				d.errorf(attr.Expr.Range(), "Invalid recent", "recent must be at most %d; got %d.", MaxActivityRecent, n)
			} else {
				a.Recent = n
			}
		}
	}
	for name, dst := range map[string]*bool{"include_arguments": &a.IncludeArguments, "include_results": &a.IncludeResults} {
		if attr, ok := attrs[name]; ok {
			if v, ok := d.eval(attr, cty.Bool); ok && !v.IsNull() {
				*dst = v.True()
			}
		}
	}
	decodeAttr(attrs, "max_capture_bytes", d.evalCount, &a.MaxCaptureBytes)
}
