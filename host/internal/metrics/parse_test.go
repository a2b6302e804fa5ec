package metrics

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// parseText is a minimal parser of the Prometheus text format, for tests:
// it returns every sample keyed by name{label="value",...} with the labels
// sorted, and fails on a line it cannot parse or a repeated series.
func parseText(t *testing.T, text string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for n, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, err := parseSample(line)
		if err != nil {
			t.Fatalf("line %d %q: %v", n+1, line, err)
		}
		if _, dup := out[key]; dup {
			t.Fatalf("line %d: series %s repeated", n+1, key)
		}
		out[key] = value
	}
	return out
}

func parseSample(line string) (string, float64, error) {
	i := strings.IndexAny(line, "{ ")
	if i <= 0 {
		return "", 0, fmt.Errorf("no metric name")
	}
	name, rest := line[:i], line[i:]
	var labels []string
	if rest[0] == '{' {
		rest = rest[1:]
		for {
			rest = strings.TrimLeft(rest, " ,")
			if strings.HasPrefix(rest, "}") {
				rest = rest[1:]
				break
			}
			eq := strings.Index(rest, `="`)
			if eq <= 0 {
				return "", 0, fmt.Errorf("bad label at %q", rest)
			}
			lname := rest[:eq]
			rest = rest[eq+2:]
			var val strings.Builder
			j := 0
			for ; j < len(rest) && rest[j] != '"'; j++ {
				if rest[j] == '\\' && j+1 < len(rest) {
					j++
					switch rest[j] {
					case 'n':
						val.WriteByte('\n')
					default:
						val.WriteByte(rest[j])
					}
					continue
				}
				val.WriteByte(rest[j])
			}
			if j >= len(rest) {
				return "", 0, fmt.Errorf("unterminated label value")
			}
			labels = append(labels, lname+"="+strconv.Quote(val.String()))
			rest = rest[j+1:]
		}
	}
	fields := strings.Fields(rest)
	if len(fields) < 1 || len(fields) > 2 {
		return "", 0, fmt.Errorf("want value [timestamp], got %q", rest)
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return "", 0, err
	}
	sort.Strings(labels)
	return name + "{" + strings.Join(labels, ",") + "}", v, nil
}
