package logs

import (
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

func interceptLogger(name string) hclog.InterceptLogger {
	return hclog.NewInterceptLogger(&hclog.LoggerOptions{Name: name, Output: io.Discard, Level: hclog.Trace})
}

func TestSinkAdapterFormat(t *testing.T) {
	t.Parallel()
	const ts = "2024-05-06T07:08:09.000000Z "
	tests := []struct {
		name string
		log  func(hclog.Logger)
		want string
	}{
		{"plain", func(l hclog.Logger) { l.Info("started") }, ts + "[INFO]  host: started"},
		{"levels pad", func(l hclog.Logger) { l.Error("bad") }, ts + "[ERROR] host: bad"},
		{"args", func(l hclog.Logger) { l.Warn("slow", "ms", 250, "path", "/a b", "ok", true) },
			ts + `[WARN]  host: slow ms=250 path="/a b" ok=true`},
		{"multi-line msg and value", func(l hclog.Logger) { l.Debug("a\nb", "v", "x\ny") },
			ts + `[DEBUG] host: a\nb v="x\ny"`},
		{"error, odd args", func(l hclog.Logger) { l.Info("m", "err", errors.New("boom"), "odd") },
			ts + "[INFO]  host: m err=boom EXTRA_VALUE_AT_END=odd"},
		{"hclog helpers", func(l hclog.Logger) {
			l.Info("m", "h", hclog.Hex(255), "f", hclog.Fmt("%d-%s", 1, "x"), "q", hclog.Quote("q"), "e", "")
		}, ts + `[INFO]  host: m h=0xff f=1-x q="q" e=""`},
		{"implied args", func(l hclog.Logger) { l.With("k", "v").Named("sub").Info("m") },
			ts + "[INFO]  host.sub: m k=v"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := newManager(t, Options{Now: func() time.Time { return t0 }})
			l := mustLog(t, m, HostLog)
			logger := interceptLogger("host")
			logger.RegisterSink(l.SinkAdapter())
			tc.log(logger)
			got, err := l.Tail(10)
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{tc.want}; !slices.Equal(got, want) {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		})
	}
}

func TestRouteHCLogSink(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		log  func(hclog.Logger)
		to   string
	}{
		{"server arg", func(l hclog.Logger) { l.Info("m", "server", "alpha") }, "alpha"},
		{"implied server", func(l hclog.Logger) { l.With("server", "beta").Warn("m") }, "beta"},
		{"last server wins", func(l hclog.Logger) { l.With("server", "alpha").Info("m", "server", "beta") }, "beta"},
		{"no server", func(l hclog.Logger) { l.Info("m", "other", "alpha") }, HostLog},
		{"unopened server", func(l hclog.Logger) { l.Info("m", "server", "gamma") }, HostLog},
		{"invalid server", func(l hclog.Logger) { l.Info("m", "server", "../alpha") }, HostLog},
		{"non-string server", func(l hclog.Logger) { l.Info("m", "server", 7) }, HostLog},
		{"server as a value", func(l hclog.Logger) { l.Info("m", "k", "server", "alpha") }, HostLog},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := newManager(t, Options{Now: func() time.Time { return t0 }})
			for _, name := range []string{"alpha", "beta"} {
				mustLog(t, m, name)
			}
			logger := interceptLogger("plugin")
			logger.RegisterSink(m.RouteHCLogSink())
			tc.log(logger)
			for _, name := range []string{"alpha", "beta", HostLog} {
				l := mustLog(t, m, name)
				got, err := l.Tail(10)
				if err != nil {
					t.Fatal(err)
				}
				if n := len(got); (name == tc.to) != (n == 1) {
					t.Errorf("%s has %d lines %q; want the entry in %s", name, n, got, tc.to)
				}
			}
			if _, err := m.Log("gamma"); err != nil {
				t.Fatal(err)
			}
			if got := m.Names(); slices.Contains(got, "../alpha") {
				t.Errorf("Names() = %q", got)
			}
		})
	}

	// Once the manager is closed, entries go nowhere and nothing panics.
	m := newManager(t, Options{})
	sink := m.RouteHCLogSink()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	sink.Accept("x", hclog.Info, "m", "server", "alpha")
}
