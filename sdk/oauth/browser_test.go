package oauth

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestBrowserHelper is the $BROWSER of TestOpenBrowser: run as
// `<test binary> -test.run=^TestBrowserHelper$ URL`, it GETs the URL. In a
// normal run it has no argument and does nothing.
func TestBrowserHelper(t *testing.T) {
	if flag.NArg() == 0 {
		return
	}
	resp, err := http.Get(flag.Arg(flag.NArg() - 1))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func TestOpenBrowser(t *testing.T) {
	t.Parallel()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	opened := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		opened <- r.URL.RequestURI()
	}))
	defer srv.Close()
	authURL := srv.URL + "/authorize?client_id=c&state=s"
	browser := self + " -test.run=^TestBrowserHelper$"
	var out bytes.Buffer
	err = OpenBrowser(context.Background(), authURL, func(k string) string {
		if k == "BROWSER" {
			return browser
		}
		return ""
	}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), authURL) {
		t.Errorf("OpenBrowser printed %q, want the URL in it", out.String())
	}
	select {
	case got := <-opened:
		if got != "/authorize?client_id=c&state=s" {
			t.Errorf("the browser opened %q", got)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("$BROWSER did not open the URL")
	}
}

func TestOpenBrowserFailureIsNotFatal(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := OpenBrowser(context.Background(), "https://as.example/authorize", func(string) string { return "/nonexistent/browser --flag" }, &out)
	if err != nil {
		t.Fatalf("OpenBrowser with a missing browser: %v, want nil (the URL was printed)", err)
	}
	if !strings.Contains(out.String(), "https://as.example/authorize") || !strings.Contains(out.String(), "by hand") {
		t.Errorf("OpenBrowser printed %q, want the URL and a note to open it by hand", out.String())
	}
}

func TestBrowserCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		goos, browser string
		want          []string
	}{
		{"linux", "", []string{"xdg-open"}},
		{"darwin", "", []string{"open"}},
		{"windows", "", []string{"rundll32", "url.dll,FileProtocolHandler"}},
		{"linux", "  firefox  --new-tab ", []string{"firefox", "--new-tab"}},
	}
	for _, tt := range tests {
		if got := browserCommand(tt.goos, tt.browser); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("browserCommand(%q, %q) = %q, want %q", tt.goos, tt.browser, got, tt.want)
		}
	}
}
