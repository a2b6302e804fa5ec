package tracestore

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/plugintest"
	"github.com/mcphost/mcphost/sdk/tracing"
)

func TestRecentResponses(t *testing.T) {
	t.Parallel()
	testRecentResponses(t, badgerStore)
}

func testRecentResponses(t *testing.T, s storeUnderTest) {
	p := s.open(t, nil)
	adminSession := tracing.OperatorCallPrefix + "0123456789abcdefghijklmnopqrstuv0123"
	// Seven responses, one a minute; the fourth is an operator's.
	var want []string
	for i := range 7 {
		tr := threeContexts
		tr.session, tr.resp = fmt.Sprintf("s%d-0123456789abcdefghij", i), fmt.Sprintf("resp_%d", i)
		if i == 3 {
			tr.session = adminSession
		}
		if changed := record(t, p, tr.events(t0.Add(time.Duration(i)*time.Minute))...); !contains(changed, uriRecentResponses) {
			t.Fatalf("Record changed %v, missing %s", changed, uriRecentResponses)
		}
		want = append([]string{tr.resp}, want...)
	}
	// Finalized again later: it moves to the front, once.
	again := threeContexts
	again.session, again.resp = "s0-0123456789abcdefghij", "resp_0"
	record(t, p, again.events(t0.Add(time.Hour))...)
	want = append([]string{"resp_0"}, want[:len(want)-1]...)

	tests := []struct {
		name, uri string
		want      []string
	}{
		{"default limit", uriRecentResponses, want},
		{"limit", uriRecentResponses + "?limit=2", want[:2]},
		{"limit above the count", uriRecentResponses + "?limit=200", want},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := readJSON[recentResponsesView](t, p, "s1", tt.uri)
			var got []string
			for _, r := range v.Responses {
				got = append(got, r.ResponseID)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("responses %v, want %v", got, tt.want)
			}
			for _, r := range v.Responses {
				wantOrigin := originClient
				if r.ResponseID == "resp_3" {
					wantOrigin = originAdmin
				}
				if r.Origin != wantOrigin || len(r.Session) != shownSessionLen || r.UnitsDelivered != 3 || r.Contexts != 3 ||
					r.TokenEstimate <= 0 || r.CreatedAt == "" || r.FinalizedAt == "" || r.ResourceURI != responseURI(r.ResponseID) {
					t.Errorf("response %+v", r)
				}
				if len(r.TopContexts) != 3 || r.TopContexts[0].ContextID != "github/search_issues" || r.TopContexts[0].Weight != 0.5 ||
					r.TopContexts[0].Server != "github" || r.TopContexts[2].Weight != 0.2 {
					t.Errorf("top contexts %+v", r.TopContexts)
				}
			}
		})
	}
	// get_trace shows the origin too.
	tv, _ := callOK[traceView](t, p, "s1", toolGetTrace, map[string]any{"response_id": "resp_3", "format": "json"})
	if tv.Origin != originAdmin || !strings.HasPrefix(tv.Session, tracing.OperatorCallPrefix) {
		t.Fatalf("trace of the operator's response: origin %q session %q", tv.Origin, tv.Session)
	}
	for format, want := range map[string]string{"tree": ", a call from the admin API)", "compact": " origin admin finalized"} {
		if _, res := callOK[traceView](t, p, "s1", toolGetTrace, map[string]any{"response_id": "resp_3", "format": format}); !strings.Contains(res.text(), want) {
			t.Errorf("%s trace of the operator's response lacks %q:\n%s", format, want, res.text())
		}
	}
	tv, _ = callOK[traceView](t, p, "s1", toolGetTrace, map[string]any{"response_id": "resp_1", "format": "json"})
	if tv.Origin != originClient {
		t.Fatalf("trace of a client's response: origin %q", tv.Origin)
	}
}

func TestRecentResponsesBadURIs(t *testing.T) {
	t.Parallel()
	testRecentResponsesBadURIs(t, badgerStore)
}

func testRecentResponsesBadURIs(t *testing.T, s storeUnderTest) {
	p := s.open(t, nil)
	for _, uri := range []string{
		uriRecentResponses + "?limit=0", uriRecentResponses + "?limit=201", uriRecentResponses + "?limit=x",
		uriRecentResponses + "?sort=old", uriRecentResponses + "/more",
	} {
		t.Run(uri, func(t *testing.T) {
			t.Parallel()
			if _, err := p.ReadResource(context.Background(), tracing.ReadResourceRequest{Session: "s1", URI: uri}); err == nil {
				t.Fatalf("%s read without an error", uri)
			}
		})
	}
}

func TestRecentResponsesListed(t *testing.T) {
	t.Parallel()
	testRecentResponsesListed(t, badgerStore)
}

func testRecentResponsesListed(t *testing.T, s storeUnderTest) {
	p := s.open(t, nil)
	res, err := p.ListResources(context.Background(), tracing.ListResourcesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range res.Resources {
		found = found || strings.Contains(string(r), `"uri":"`+uriRecentResponses+`"`)
	}
	if !found {
		t.Fatalf("%s is not listed", uriRecentResponses)
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	testConformance(t, badgerStore)
}

func testConformance(t *testing.T, s storeUnderTest) {
	t.Run("direct", func(t *testing.T) {
		t.Parallel()
		plugintest.CheckTracing(t, s.open(t, nil))
	})
	t.Run("over gRPC", func(t *testing.T) {
		t.Parallel()
		plugintest.CheckTracing(t, plugintest.ServeTracing(t, s.open(t, nil)))
	})
}
