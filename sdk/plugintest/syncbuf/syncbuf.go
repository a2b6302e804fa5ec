// Package syncbuf is the one lock-guarded buffer of the repository's
// tests: a running server's logger, a child process's stderr or a running
// command writes to it while the test reads it. It imports nothing of
// mcphost, so that every package's tests can use it, the SDK's own
// included (sdk/plugintest imports sdk/transport, whose tests use it too).
package syncbuf

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer safe for concurrent writers and readers. The
// zero Buffer is empty and ready to use.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
