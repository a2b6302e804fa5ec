package transport

import (
	"context"
	"sync"
	"time"

	"github.com/mcphost/mcphost/sdk/base"
)

// ConnSet holds a transport's open connections, so that Stop can close them
// all. The zero value is ready to use.
type ConnSet[C interface {
	Conn
	comparable
}] struct {
	mu    sync.Mutex
	conns map[C]struct{}
}

// Add records an opened connection.
func (s *ConnSet[C]) Add(c C) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns == nil {
		s.conns = make(map[C]struct{})
	}
	s.conns[c] = struct{}{}
}

// Remove forgets a connection once it has closed.
func (s *ConnSet[C]) Remove(c C) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

// Len is the number of open connections.
func (s *ConnSet[C]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// CloseAll closes every connection in parallel, each given until the stop
// request's deadline: what a transport's Stop does.
func (s *ConnSet[C]) CloseAll(ctx context.Context, req base.StopRequest) {
	if req.DeadlineUnixNano > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, time.Unix(0, req.DeadlineUnixNano))
		defer cancel()
	}
	s.mu.Lock()
	conns := make([]C, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.Close(ctx)
		}()
	}
	wg.Wait()
}
