package versions

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk/translator"
)

// FuzzTranslate: every rule of the versions translator, as the host
// applies it (its edits, then Translate when a rule asks), and Translate
// on its own, never panic, and turn valid JSON into valid JSON.
func FuzzTranslate(f *testing.F) {
	for _, cases := range [][]golden{to20241105Cases, to20250326Cases, structuredCases, to20250618Cases,
		samplingBetweenLegacyCases, from20260728Cases, to20260728ClientsCases, toBackendCases, editCases} {
		for _, tc := range cases {
			f.Add([]byte(tc.in), tc.from, tc.to, tc.dir == toClient, tc.kind, tc.method)
		}
	}
	tr := New(hclog.NewNullLogger())
	rs, err := translator.Compile(tr.rules)
	if err != nil {
		f.Fatal(err)
	}
	session := translator.Session{
		ClientCapabilities: []byte(`{"sampling":{},"elicitation":{"form":{}}}`),
		ClientInfo:         []byte(`{"name":"fuzz","version":"1"}`),
		LogLevel:           "debug",
	}
	f.Fuzz(func(t *testing.T, msg []byte, from, to string, toClientDir bool, kind, method string) {
		dir := translator.ToBackend
		if toClientDir {
			dir = translator.ToClient
		}
		valid := json.Valid(msg)
		orig := slices.Clone(msg)
		translate := func(m []byte) {
			resp, err := tr.Translate(context.Background(), translator.TranslateRequest{
				From: from, To: to, Direction: dir, Method: method, Kind: kind, Message: m, Session: session,
			})
			if err != nil || !json.Valid(m) {
				return
			}
			if resp.Message != nil && !resp.Drop && !json.Valid(resp.Message) {
				t.Fatalf("Translate %s %s %s→%s %q = %q: not JSON", dir, method, from, to, m, resp.Message)
			}
			for _, x := range resp.Extra {
				if !json.Valid(x) {
					t.Fatalf("Translate %s %s %s→%s %q: extra %q is not JSON", dir, method, from, to, m, x)
				}
			}
		}
		translate(msg)
		out, err := rs.Plan(from, to, dir, method, kind).Apply(msg, func() translator.Session { return session })
		if !slices.Equal(msg, orig) {
			t.Fatalf("Apply or Translate changed its input")
		}
		if err != nil || out.Drop {
			return
		}
		if valid && !json.Valid(out.Message) {
			t.Fatalf("host rules %s %s %s→%s %q = %q: not JSON", dir, method, from, to, msg, out.Message)
		}
		if out.Translate {
			translate(out.Message)
		}
	})
}
