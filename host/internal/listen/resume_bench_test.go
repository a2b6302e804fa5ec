package listen

import (
	"io"
	"strings"
	"testing"
)

// BenchmarkSSEEvent is what an event costs to write, without and with an
// id and its place in the replay buffer.
func BenchmarkSSEEvent(b *testing.B) {
	for _, size := range []int{100, 100 << 10} {
		msg := []byte(`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"` + strings.Repeat("x", size) + `"}]}}`)
		name := "100B"
		if size > 100 {
			name = "100KB"
		}
		b.Run(name+"/plain", func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if err := writeEvent(io.Discard, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/resumable", func(b *testing.B) {
			h := &HTTP{opts: HTTPOptions{ResumeBufferBytes: DefaultResumeBufferBytes, ResumeTotalBytes: DefaultResumeTotalBytes}}
			es := h.openStream(&httpSession{}, nil)
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if err := es.writeEvent(io.Discard, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
