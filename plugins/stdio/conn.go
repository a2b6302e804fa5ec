package stdio

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/transport"
)

// conn is one running child process.
type conn struct {
	name        string
	logger      hclog.Logger
	m           connMetrics
	forget      func(*conn)
	limit       int
	stopTimeout time.Duration

	cmd *exec.Cmd
	pid int
	// Our ends of the child's stdio. They are plain *os.File pipes rather
	// than exec's StdoutPipe so that cmd.Wait neither closes them under the
	// reader (losing the child's last messages) nor waits for descendants
	// that inherited them.
	stdin, stdout, stderr *os.File

	// sendSem lets one Send write at a time; a Send waiting for it gives
	// up when its ctx ends. broken is set once a Send was cut short
	// mid-line: the child's input is out of step, so it is closed.
	sendSem chan struct{}
	broken  bool

	// Recv reads stdout itself, with no goroutine hand-off per message:
	// that hop cost a thread wake-up on every response. rmu keeps one
	// reader at a time (Recv, or the drain after Close); recvErr is set once
	// stdout has ended and the process has exited.
	rmu     sync.Mutex
	lines   *jsonrpc.LineReader
	recvErr error
	// received is set by the first Recv: the reader may hold buffered
	// output from then on, so the pipes can no longer be handed over.
	// handedOver is set once they have been: the host reads and writes
	// them, and Send and Recv refuse.
	received   bool
	handedOver atomic.Bool
	// keptIn and keptOut are this process's own copies of stdin and stdout
	// once they are handed over: bare descriptors, so that the runtime's
	// poller does not watch them and wake this process for every message
	// the host passes through the pipes. Close takes them back. handMu
	// orders a hand-over and the start of Close, so that Close sees the
	// hand-over or the hand-over sees Close.
	handMu          sync.Mutex
	keptIn, keptOut uintptr

	// exited is closed once the process is reaped; state is set before:
	// how it ended in words, with the last lines of its stderr.
	exited  chan struct{}
	state   string
	exitErr *transport.ExitError

	// tail holds the last stderrTail lines of stderr; stderrDone is closed
	// when stderr has ended.
	tailMu     sync.Mutex
	tail       []string
	stderrDone chan struct{}

	closing   chan struct{}
	closeOnce sync.Once
	readers   sync.WaitGroup
}

func start(o options, name string, hostEnv []string, limit int, logger hclog.Logger, m connMetrics, forget func(*conn)) (*conn, error) {
	cmd := exec.Command(o.Command, o.Args...)
	cmd.Env = o.environ(hostEnv)
	cmd.Dir = o.Cwd
	cmd.SysProcAttr = sysProcAttr()

	var files []*os.File // every pipe end, closed on failure
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		if err == nil {
			files = append(files, r, w)
		}
		return r, w, err
	}
	fail := func(err error) (*conn, error) {
		for _, f := range files {
			_ = f.Close()
		}
		return nil, err
	}
	inR, inW, err := pipe()
	if err != nil {
		return fail(err)
	}
	outR, outW, err := pipe()
	if err != nil {
		return fail(err)
	}
	errR, errW, err := pipe()
	if err != nil {
		return fail(err)
	}
	// Roomier pipes let a large message cross in one write instead of a
	// write, a wait for the other side to read, and another write.
	growPipe(inW)
	growPipe(outR)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	if err := cmd.Start(); err != nil {
		return fail(startError(o.Command, err))
	}
	if err := adopt(cmd); err != nil {
		logger.Warn("backend runs outside a job object: Close kills it, not what it spawned", "pid", cmd.Process.Pid, "error", err)
	}
	// Keep only our ends, so that EOF on stdout means the child (and
	// anything it passed stdout to) is done with it.
	_ = inR.Close()
	_ = outW.Close()
	_ = errW.Close()

	c := &conn{
		name: name, logger: logger, m: m, forget: forget, limit: limit, stopTimeout: o.StopTimeout.D(),
		cmd: cmd, pid: cmd.Process.Pid, stdin: inW, stdout: outR, stderr: errR,
		lines: jsonrpc.NewLineReader(outR, limit), exited: make(chan struct{}), closing: make(chan struct{}),
		sendSem: make(chan struct{}, 1), stderrDone: make(chan struct{}),
	}
	m.Open.Inc()
	logger.Debug("backend started", "pid", c.pid, "command", o.Command)
	go c.wait()
	c.readers.Add(1)
	go c.logStderr()
	return c, nil
}

// wait reaps the child. It also kills whatever the child left behind in its
// process group: a backend that exited has no business leaving processes
// around, and they would hold stdout open forever.
func (c *conn) wait() {
	err := reap(c.cmd)
	status := err
	if ps := c.cmd.ProcessState; ps != nil {
		status = exitStatus(ps)
	}
	// Its last words on stderr, once the pipe has ended (the process group
	// is gone, so it ends at once unless a stray descendant escaped it).
	select {
	case <-c.stderrDone:
	case <-time.After(stderrGrace):
	}
	c.tailMu.Lock()
	tail := strings.Join(c.tail, " | ")
	c.tailMu.Unlock()
	c.exitErr = &transport.ExitError{Status: status.Error(), Stderr: tail}
	c.state = c.exitErr.Error()
	c.logger.Debug("backend exited", "pid", c.pid, "status", c.state)
	close(c.exited)
}

// stderrTail lines of stderr, each cut at stderrLineMax bytes, go with an
// exit status; stderrGrace bounds the wait for stderr to end after the
// exit.
const (
	stderrTail    = 3
	stderrLineMax = 200
	stderrGrace   = 500 * time.Millisecond
)

// exitStatus is how a process ended, in words.
func exitStatus(ps *os.ProcessState) error {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return fmt.Errorf("killed by signal %d (%s)", int(ws.Signal()), ws.Signal())
	}
	return fmt.Errorf("exited with status %d", ps.ExitCode())
}

// startError says why a command could not be started, in plain words.
func startError(command string, err error) error {
	switch {
	case errors.Is(err, exec.ErrNotFound):
		return fmt.Errorf("command %q not found in PATH", command)
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("command %q not found", command)
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("command %q is not executable (permission denied)", command)
	}
	return fmt.Errorf("start %s: %w", command, err)
}

// next reads the next message from stdout; rmu is held. Once stdout has
// ended it waits for the exit status and keeps returning recvErr.
func (c *conn) next() ([]byte, error) {
	if c.recvErr != nil {
		return nil, c.recvErr
	}
	for {
		line, err := c.lines.Next()
		var tooLarge *jsonrpc.TooLargeError
		if errors.As(err, &tooLarge) {
			// One bad message must not cost the whole connection.
			c.logger.Warn("discarded oversized message from backend", "bytes", tooLarge.Size, "limit", c.limit)
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, err // Recv's ctx ended; the stream is still usable
		}
		if err != nil {
			<-c.exited
			c.recvErr = fmt.Errorf("%w: %w", transport.ErrClosed, c.exitErr)
			return nil, c.recvErr
		}
		c.m.MsgsIn.Inc()
		c.m.BytesIn.Add(len(line))
		return line, nil
	}
}

// drain reads and drops stdout after Close, so that a child shutting down
// never blocks on a full pipe.
func (c *conn) drain() {
	defer c.readers.Done()
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		if _, err := c.next(); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return
		}
	}
}

// logStderr forwards the child's stderr to the log, line by line; it never
// goes near the protocol stream.
func (c *conn) logStderr() {
	defer c.readers.Done()
	defer close(c.stderrDone)
	r := bufio.NewReaderSize(c.stderr, 16<<10)
	for {
		chunk, err := r.ReadSlice('\n')
		if s := string(bytes.TrimRight(chunk, "\r\n")); s != "" {
			c.logger.Info(s, "stream", "stderr")
			c.keep(s)
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

// keep remembers a stderr line among the last stderrTail.
func (c *conn) keep(line string) {
	if len(line) > stderrLineMax {
		line = line[:stderrLineMax] + "…"
	}
	c.tailMu.Lock()
	defer c.tailMu.Unlock()
	if len(c.tail) == stderrTail {
		c.tail = append(c.tail[:0], c.tail[1:]...)
	}
	c.tail = append(c.tail, line)
}

// errHandedOver is returned by Send and Recv once the host reads and
// writes the pipes itself.
var errHandedOver = errors.New("the pipes are handed over to the host")

// Send writes msg as one line. It returns when ctx ends, even if the child
// has stopped reading; a line cut short closes the child's stdin, since
// the rest cannot follow.
func (c *conn) Send(ctx context.Context, msg []byte) error {
	msg, err := transport.PrepareSend(msg, c.limit)
	if err != nil {
		return err
	}
	select {
	case c.sendSem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("send: waiting for another send: %w", ctx.Err())
	}
	defer func() { <-c.sendSem }()
	select {
	case <-c.closing:
		return fmt.Errorf("send: %w: %v", transport.ErrClosed, errStopped)
	default:
	}
	switch {
	case c.handedOver.Load():
		return fmt.Errorf("send: %w", errHandedOver)
	case c.broken:
		return fmt.Errorf("send: %w: an earlier send was cut short mid-message", transport.ErrClosed)
	case ctx.Err() != nil:
		return fmt.Errorf("send: %w", ctx.Err())
	}
	finish := transport.WakeOnDone(ctx, c.stdin.SetWriteDeadline)
	n, err := transport.WriteLine(c.stdin, msg)
	woke := finish()
	switch {
	case err == nil:
		c.m.MsgsOut.Inc()
		c.m.BytesOut.Add(len(msg))
		return nil
	case n == 0 && woke:
		return fmt.Errorf("send: %w", ctx.Err())
	case n > 0:
		c.broken = true
		_ = c.stdin.Close()
		if woke {
			err = ctx.Err() // the deadline that cut the write short was ctx's
		}
		return fmt.Errorf("send: %w: cut short mid-message: %w", transport.ErrClosed, err)
	}
	return fmt.Errorf("send: %w: %v", transport.ErrClosed, err)
}

// Recv returns the next message, or once stdout has ended and the child has
// exited, an error wrapping transport.ErrClosed with its exit status.
func (c *conn) Recv(ctx context.Context) ([]byte, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.handedOver.Load() {
		return nil, fmt.Errorf("recv: %w", errHandedOver)
	}
	c.received = true
	finish := transport.WakeOnDone(ctx, c.stdout.SetReadDeadline)
	msg, err := c.next()
	woke := finish()
	if woke && errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, fmt.Errorf("recv: %w", ctx.Err())
	}
	return msg, err
}

// HandOver gives the host the child's stdin and stdout (it gets
// duplicates): from then on messages no longer pass through this process.
// The child's stderr, its lifecycle and Close stay here.
func (c *conn) HandOver(context.Context, transport.HandOverRequest) (transport.HandOverResponse, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.handMu.Lock()
	defer c.handMu.Unlock()
	if c.received {
		return transport.HandOverResponse{}, errors.New("hand over: stdout has been read already")
	}
	select {
	case <-c.closing:
		return transport.HandOverResponse{}, fmt.Errorf("hand over: %w: %v", transport.ErrClosed, errStopped)
	default:
	}
	in, err := dupFD(c.stdin)
	if err != nil {
		return transport.HandOverResponse{}, fmt.Errorf("hand over: %w", err)
	}
	out, err := dupFD(c.stdout)
	if err != nil {
		closeFD(in)
		return transport.HandOverResponse{}, fmt.Errorf("hand over: %w", err)
	}
	c.keptIn, c.keptOut = in, out
	c.handedOver.Store(true)
	c.logger.Debug("pipes handed over to the host", "pid", c.pid)
	// The SDK closes these once it has passed them on.
	return transport.HandOverResponse{In: c.stdin, Out: c.stdout}, nil
}

// takeBack makes the kept copies of handed-over pipes the conn's stdin
// and stdout again, for Close to close the one and drain the other.
// Recv refuses once the pipes are handed over, so nothing else uses them.
func (c *conn) takeBack() {
	c.handMu.Lock()
	defer c.handMu.Unlock()
	if !c.handedOver.Load() {
		return
	}
	c.stdin = os.NewFile(uintptr(c.keptIn), "stdin")
	c.stdout = os.NewFile(uintptr(c.keptOut), "stdout")
	c.lines = jsonrpc.NewLineReader(c.stdout, c.limit)
}

// Wait returns once the child has exited, with its exit status.
func (c *conn) Wait(ctx context.Context) error {
	select {
	case <-c.exited:
		return fmt.Errorf("%w: %w", transport.ErrClosed, c.exitErr)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close closes the child's stdin and gives it until stop_timeout (or ctx's
// deadline, if sooner) to exit, then SIGTERMs its process group, then a
// second later SIGKILLs it. The child is always reaped.
func (c *conn) Close(ctx context.Context) error {
	c.closeOnce.Do(func() { c.shutdown(ctx) })
	return nil
}

func (c *conn) shutdown(ctx context.Context) {
	close(c.closing)
	c.takeBack()
	c.readers.Add(1)
	go c.drain()
	// Closing stdin also unblocks a Send stuck on a child that stopped
	// reading, so taking sendSem here is unnecessary and could deadlock.
	_ = c.stdin.Close()
	timer := time.NewTimer(c.stopTimeout)
	defer timer.Stop()
	select {
	case <-c.exited:
	case <-timer.C:
	case <-ctx.Done():
	}
	select {
	case <-c.exited:
	default:
		c.logger.Warn("backend still running after stdin was closed; sending SIGTERM", "pid", c.pid)
		killGroup(c.pid, syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(killGrace):
			c.logger.Warn("backend ignored SIGTERM; sending SIGKILL", "pid", c.pid)
			killGroup(c.pid, syscall.SIGKILL)
			<-c.exited
		}
	}
	// A descendant that moved to another process group may still hold
	// stdout or stderr; closing our ends stops the readers regardless.
	_ = c.stdout.Close()
	_ = c.stderr.Close()
	c.readers.Wait()
	c.m.Open.Dec()
	c.forget(c)
}
