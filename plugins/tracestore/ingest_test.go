package tracestore

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The host leaves out arguments larger than it sends but always gives
// their size; older hosts sent only the arguments.
func TestArgumentsSize(t *testing.T) {
	t.Parallel()
	testArgumentsSize(t, badgerStore)
}

func testArgumentsSize(t *testing.T, s storeUnderTest) {
	big := `{"q":"` + strings.Repeat("x", 20<<10) + `"}`
	tests := []struct {
		name      string
		args      string
		bytes     int64
		wantArgs  string
		wantBytes int
	}{
		{"small, sized", `{"q":"x"}`, 9, `{"q":"x"}`, 9},
		{"small, from an older host", `{"q":"x"}`, 0, `{"q":"x"}`, 9},
		{"left out by the host", ``, 100000, ``, 100000},
		{"sent but too large to keep", big, int64(len(big)), ``, len(big)},
		{"none", ``, 0, ``, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := s.open(t, nil)
			ev := unitEvent("s", "r1", "srv/tool", "text", time.Now())
			ev.Arguments, ev.ArgumentsBytes = json.RawMessage(tc.args), tc.bytes
			record(t, p, ev)
			v := readJSON[contextView](t, p, "s", contextURI("srv/tool"))
			var args bytes.Buffer
			if len(v.Arguments) > 0 {
				if err := json.Compact(&args, v.Arguments); err != nil {
					t.Fatal(err)
				}
			}
			if args.String() != tc.wantArgs || v.ArgumentsBytes != tc.wantBytes {
				t.Fatalf("arguments %.40q (%d bytes), want %.40q (%d)", args.String(), v.ArgumentsBytes, tc.wantArgs, tc.wantBytes)
			}
		})
	}
}
