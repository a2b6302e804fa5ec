package admin

import (
	"net/http"
	"strings"
)

// sseWriter writes a text/event-stream response.
type sseWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func startSSE(w http.ResponseWriter) *sseWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s := &sseWriter{w: w, rc: http.NewResponseController(w)}
	_ = s.rc.Flush()
	return s
}

var lineBreaks = strings.NewReplacer("\r\n", "\n", "\r", "\n")

// send writes one event. A payload with line breaks becomes several data
// fields, which a client joins back with "\n".
func (s *sseWriter) send(event, data string) error {
	var b strings.Builder
	if event != "" {
		b.WriteString("event: ")
		b.WriteString(strings.NewReplacer("\r", "", "\n", "").Replace(event))
		b.WriteByte('\n')
	}
	for _, line := range strings.Split(lineBreaks.Replace(data), "\n") {
		b.WriteString("data: ")
		b.WriteString(line)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return s.write(b.String())
}

// comment writes a comment line, which clients ignore; it keeps idle
// connections open through proxies and detects departed clients.
func (s *sseWriter) comment(text string) error {
	return s.write(": " + text + "\n\n")
}

func (s *sseWriter) write(p string) error {
	if _, err := s.w.Write([]byte(p)); err != nil {
		return err
	}
	return s.rc.Flush()
}
