package logs

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"
)

// ServerKey is the hclog argument that RouteHCLogSink routes by.
const ServerKey = "server"

// SinkAdapter returns an hclog sink, for an InterceptLogger's RegisterSink,
// that writes each entry to l as one line:
// "<time> [LEVEL] <logger name>: <msg> key=value ...". A sink cannot return
// errors, so a failed file write is lost; followers still see the entry.
func (l *Log) SinkAdapter() hclog.SinkAdapter {
	return &logSink{l: l}
}

type logSink struct{ l *Log }

func (s *logSink) Accept(name string, level hclog.Level, msg string, args ...any) {
	_ = s.l.writeEntry(formatEntry(s.l.m.opts.Now(), name, level, msg, args))
}

// RouteHCLogSink returns an hclog sink that writes each entry to the log of
// the server named by its last "server" argument (the one most specific to
// the call, as implied arguments come first), and every other entry to the
// HostLog log. Only logs already opened with Log are routed to: an unknown
// or invalid server name goes to HostLog, so a plugin cannot make mcphost
// create files by inventing names.
func (m *Manager) RouteHCLogSink() hclog.SinkAdapter {
	return &routeSink{m: m}
}

type routeSink struct{ m *Manager }

func (s *routeSink) Accept(name string, level hclog.Level, msg string, args ...any) {
	target := HostLog
	for i := 0; i+1 < len(args); i += 2 {
		if k, ok := args[i].(string); ok && k == ServerKey {
			if v, ok := args[i+1].(string); ok {
				target = v
			}
		}
	}
	l, ok := s.m.lookup(target)
	if !ok && target != HostLog {
		l, ok = s.m.lookup(HostLog)
	}
	if !ok {
		var err error
		if l, err = s.m.Log(HostLog); err != nil {
			return // closed: there is nowhere left to write
		}
	}
	_ = l.writeEntry(formatEntry(s.m.opts.Now(), name, level, msg, args))
}

// formatEntry renders an hclog entry much as hclog's own text format does,
// except that it is always one line: values that hclog would spread over
// several lines are quoted instead.
func formatEntry(t time.Time, name string, level hclog.Level, msg string, args []any) []byte {
	b := make([]byte, 0, 128)
	b = t.UTC().AppendFormat(b, timeLayout)
	b = append(b, ' ')
	b = appendLevel(b, level)
	b = append(b, ' ')
	if name != "" {
		b = append(b, name...)
		b = append(b, ':', ' ')
	}
	b = appendOneLine(b, msg)
	if len(args)%2 != 0 {
		args = append(args[:len(args)-1:len(args)-1], hclog.MissingKey, args[len(args)-1])
	}
	for i := 0; i < len(args); i += 2 {
		b = append(b, ' ')
		b = appendValue(b, formatKey(args[i]))
		b = append(b, '=')
		if q, ok := args[i+1].(hclog.Quote); ok {
			// hclog always quotes these, even when bare would do.
			b = strconv.AppendQuote(b, string(q))
			continue
		}
		b = appendValue(b, formatArg(args[i+1]))
	}
	return b
}

// appendLevel pads to hclog's bracket width so messages line up.
func appendLevel(b []byte, level hclog.Level) []byte {
	start := len(b)
	b = append(b, '[')
	b = append(b, strings.ToUpper(level.String())...)
	b = append(b, ']')
	for len(b)-start < len("[ERROR]") {
		b = append(b, ' ')
	}
	return b
}

func formatKey(k any) string {
	if s, ok := k.(string); ok {
		return s
	}
	return fmt.Sprint(k)
}

func formatArg(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case hclog.Format:
		if len(v) == 0 {
			return ""
		}
		if f, ok := v[0].(string); ok {
			return fmt.Sprintf(f, v[1:]...)
		}
		return fmt.Sprint(v...)
	case hclog.Hex:
		return "0x" + strconv.FormatUint(uint64(v), 16)
	case hclog.Octal:
		return "0" + strconv.FormatUint(uint64(v), 8)
	case hclog.Binary:
		return "0b" + strconv.FormatUint(uint64(v), 2)
	case hclog.CapturedStacktrace:
		return string(v)
	default:
		// fmt calls Error or String, and survives one that panics on a
		// nil receiver.
		return fmt.Sprint(v)
	}
}

// appendValue writes s bare when that is unambiguous and Go-quoted
// otherwise, which also turns newlines into "\n".
func appendValue(b []byte, s string) []byte {
	if s != "" && !needsQuoting(s) {
		return append(b, s...)
	}
	return strconv.AppendQuote(b, s)
}

func needsQuoting(s string) bool {
	for _, r := range s {
		if r == ' ' || r == '=' || r == '"' || r == utf8.RuneError || !unicode.IsPrint(r) {
			return true
		}
	}
	return false
}

// appendOneLine writes a message, escaping line breaks so the entry stays on
// one line.
func appendOneLine(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, s[i])
		}
	}
	return b
}
