package metrics

import (
	"strings"

	"github.com/mcphost/mcphost/sdk/base"
)

// InjectLabel adds name="value" to every sample in text, which is in the
// Prometheus text format; the label goes first. A sample that already has
// a label called name keeps its value as exported_NAME, as Prometheus does
// for a scraped target's clashing labels. Comments (# HELP, # TYPE and
// others) and blank lines pass through unchanged.
func InjectLabel(text, name, value string) string {
	label := name + `="` + base.LabelValue(value) + `"`
	var b strings.Builder
	b.Grow(len(text) + strings.Count(text, "\n")*(len(label)+1))
	for line := range strings.Lines(text) {
		body, nl := strings.CutSuffix(line, "\n")
		body = strings.TrimSuffix(body, "\r")
		trimmed := strings.TrimLeft(body, " \t")
		if trimmed == "" || trimmed[0] == '#' {
			b.WriteString(body)
		} else {
			injectLine(&b, trimmed, name, label)
		}
		if nl {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// injectLine writes one sample line with label added.
func injectLine(b *strings.Builder, line, name, label string) {
	end := metricNameEnd(line)
	b.WriteString(line[:end])
	rest := line[end:]
	if !strings.HasPrefix(rest, "{") {
		b.WriteString("{" + label + "}")
		b.WriteString(rest)
		return
	}
	b.WriteString("{" + label)
	// Copy the existing labels, renaming a clashing one.
	i := 1
	for {
		for i < len(rest) && (rest[i] == ' ' || rest[i] == '\t' || rest[i] == ',') {
			i++
		}
		if i >= len(rest) || rest[i] == '}' {
			break
		}
		start := i
		for i < len(rest) && rest[i] != '=' && rest[i] != '}' {
			i++
		}
		lname := strings.TrimSpace(rest[start:i])
		if i >= len(rest) || rest[i] != '=' {
			// Malformed: keep what is left as it is.
			b.WriteString("," + rest[start:])
			return
		}
		i++ // '='
		for i < len(rest) && (rest[i] == ' ' || rest[i] == '\t') {
			i++
		}
		vstart := i
		if i < len(rest) && rest[i] == '"' {
			i++
			for i < len(rest) && rest[i] != '"' {
				if rest[i] == '\\' {
					i++
				}
				i++
			}
			i++ // closing quote
		}
		if i > len(rest) {
			i = len(rest)
		}
		if lname == name {
			lname = "exported_" + name
		}
		b.WriteString("," + lname + "=" + rest[vstart:i])
	}
	b.WriteString(rest[i:])
}

// metricNameEnd is the index just past the metric name at the start of a
// sample line.
func metricNameEnd(line string) int {
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '{', ' ', '\t':
			return i
		}
	}
	return len(line)
}

// family is one metric family of merged text: its metadata and samples.
type family struct {
	help, typ string
	samples   []string
}

// familySuffixes are the sample name suffixes that belong to the family
// named by a preceding # TYPE or # HELP line.
var familySuffixes = []string{"_bucket", "_sum", "_count", "_total", "_created", "_info", "_gcount", "_gsum"}

// MergeFamilies joins several texts in the Prometheus text format so that
// each metric family appears once: its first # HELP and # TYPE lines, then
// all its samples from every text. Other comments are dropped. Families
// keep the order in which they first appear.
func MergeFamilies(texts ...string) string {
	fams := map[string]*family{}
	var order []string
	get := func(name string) *family {
		f, ok := fams[name]
		if !ok {
			f = &family{}
			fams[name] = f
			order = append(order, name)
		}
		return f
	}
	for _, text := range texts {
		cur := ""
		for line := range strings.Lines(text) {
			line = strings.TrimRight(line, "\r\n")
			line = strings.TrimLeft(line, " \t")
			if line == "" {
				continue
			}
			if line[0] == '#' {
				fields := strings.Fields(line)
				if len(fields) < 3 || (fields[1] != "HELP" && fields[1] != "TYPE") {
					continue
				}
				cur = fields[2]
				f := get(cur)
				if fields[1] == "HELP" && f.help == "" {
					f.help = line
				} else if fields[1] == "TYPE" && f.typ == "" {
					f.typ = line
				}
				continue
			}
			name := line[:metricNameEnd(line)]
			fam := name
			if cur != "" && belongsTo(name, cur) {
				fam = cur
			} else {
				cur = ""
			}
			f := get(fam)
			f.samples = append(f.samples, line)
		}
	}
	var b strings.Builder
	for _, name := range order {
		f := fams[name]
		for _, l := range []string{f.help, f.typ} {
			if l != "" {
				b.WriteString(l + "\n")
			}
		}
		for _, s := range f.samples {
			b.WriteString(s + "\n")
		}
	}
	return b.String()
}

func belongsTo(sample, fam string) bool {
	if sample == fam {
		return true
	}
	rest, ok := strings.CutPrefix(sample, fam)
	if !ok {
		return false
	}
	for _, s := range familySuffixes {
		if rest == s {
			return true
		}
	}
	return false
}
