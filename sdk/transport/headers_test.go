package transport

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestHeaderRulesCheck(t *testing.T) {
	t.Parallel()
	rules := HeaderRules{Transport: "test", Reserved: func(key string) bool { return key == "Upgrade" }}
	tests := []struct {
		name    string
		headers map[string]string
		token   string
		header  http.Header
		host    string
		want    []string // "attribute: summary"
	}{
		{"none", nil, "", http.Header{}, "", nil},
		{"canonical names and the token", map[string]string{"x-api-key": "k"}, "t",
			http.Header{"X-Api-Key": {"k"}, "Authorization": {"Bearer t"}}, "", nil},
		{"host goes apart", map[string]string{"host": "example.com"}, "", http.Header{}, "example.com", nil},
		{"reserved", map[string]string{"upgrade": "x"}, "", http.Header{}, "", []string{"headers: Reserved header"}},
		{"sorted, one problem per header", map[string]string{"b c": "1", "A": "\n", "a": "2"}, "x y", http.Header{}, "", []string{
			"headers: Invalid header value", "headers: Duplicate header", "headers: Invalid header name", "bearer_token: Invalid bearer token",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, diags := rules.Check(tt.headers, tt.token)
			var summaries []string
			for _, d := range diags {
				summaries = append(summaries, d.Attribute+": "+d.Summary)
				for _, v := range tt.headers {
					if v != "" && strings.Contains(d.Detail, v) {
						t.Errorf("diagnostic %+v shows a header value", d)
					}
				}
			}
			if fmt.Sprint(summaries) != fmt.Sprint(tt.want) {
				t.Errorf("diagnostics = %q, want %q", summaries, tt.want)
			}
			if !reflect.DeepEqual(got.Header, tt.header) || got.Host != tt.host {
				t.Errorf("headers = %v host %q, want %v host %q", got.Header, got.Host, tt.header, tt.host)
			}
		})
	}
}
