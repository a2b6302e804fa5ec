package bench

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
)

// The echo backend is the do-nothing MCP server every cell measures
// against: newline-delimited JSON-RPC on stdio, one tool, echo
// {"message": string}, whose result copies the raw JSON string of the
// message into a text content block without decoding it. It costs a few
// µs a call, so what a cell adds on top of a direct connection to it is
// the proxy's. The test binary runs it when started with roleEnv set and
// "echo" as its first argument (see TestMain).

// Protocol versions the echo backend and the clients speak.
const (
	v20241105 = "2024-11-05"
	v20250326 = "2025-03-26"
	v20250618 = "2025-06-18"
	v20251125 = "2025-11-25"
	v20260728 = "2026-07-28"
)

// initializeEra are the versions negotiated with initialize, oldest first.
var initializeEra = []string{v20241105, v20250326, v20250618, v20251125}

// echoServer answers JSON-RPC requests. pinned, when set, is the one
// version it speaks: an initialize-era version is answered whatever the
// client asks for, as by a server that knows only that one, and 2026-07-28
// makes it a stateless server that answers server/discover, refuses
// initialize and stamps resultType on every result.
type echoServer struct {
	pinned string
}

func (s *echoServer) modern() bool { return s.pinned == v20260728 }

// Fixed parts of the answers.
const (
	echoServerInfo   = `{"name":"mcphost-bench-echo","version":"1.0.0"}`
	echoCapabilities = `{"tools":{},"resources":{},"prompts":{}}`
	echoTools        = `[{"name":"echo","description":"Returns the message.",` +
		`"inputSchema":{"type":"object","properties":{"message":{"type":"string"}},"required":["message"]}}]`
	// modernStamp is what a 2026-07-28 server adds to every result; lists
	// and server/discover are also cacheable.
	modernStamp     = `"resultType":"complete"`
	modernCacheable = `"ttlMs":0,"cacheScope":"public",` + modernStamp
)

// answer appends to buf the answer to the message e (without a newline),
// and nothing for a notification or a response.
func (s *echoServer) answer(buf []byte, e envelope) []byte {
	if e.id == nil || e.method == nil {
		return buf
	}
	switch string(e.method) {
	case `"tools/call"`:
		return s.echo(buf, e)
	case `"ping"`:
		return s.result(buf, e.id, ``, false)
	case `"initialize"`:
		if s.modern() {
			return appendError(buf, e.id, -32601, "initialize is not a 2026-07-28 method: use server/discover")
		}
		version := s.version(member(e.params, "protocolVersion"))
		return s.result(buf, e.id, `"protocolVersion":"`+version+`","capabilities":`+echoCapabilities+`,"serverInfo":`+echoServerInfo, false)
	case `"server/discover"`:
		if !s.modern() {
			return appendError(buf, e.id, -32601, "Method not found: server/discover")
		}
		return s.result(buf, e.id, `"supportedVersions":["`+v20260728+`"],"capabilities":`+echoCapabilities+
			`,"_meta":{"io.modelcontextprotocol/serverInfo":`+echoServerInfo+`}`, true)
	case `"tools/list"`:
		return s.result(buf, e.id, `"tools":`+echoTools, true)
	case `"resources/list"`:
		return s.result(buf, e.id, `"resources":[]`, true)
	case `"resources/templates/list"`:
		return s.result(buf, e.id, `"resourceTemplates":[]`, true)
	case `"prompts/list"`:
		return s.result(buf, e.id, `"prompts":[]`, true)
	}
	return appendError(buf, e.id, -32601, "Method not found: "+string(e.method))
}

// version is the version to answer initialize with: the pinned one, or
// the one asked for when the server knows it, or its newest.
func (s *echoServer) version(asked []byte) string {
	if s.pinned != "" {
		return s.pinned
	}
	for _, v := range initializeEra {
		if string(asked) == `"`+v+`"` {
			return v
		}
	}
	return initializeEra[len(initializeEra)-1]
}

// echo answers tools/call echo: the message's raw JSON string becomes the
// text of the result, undecoded.
func (s *echoServer) echo(buf []byte, e envelope) []byte {
	if name := member(e.params, "name"); string(name) != `"echo"` {
		return appendError(buf, e.id, -32602, "Unknown tool: "+string(name))
	}
	msg := member(member(e.params, "arguments"), "message")
	if len(msg) < 2 || msg[0] != '"' {
		return appendError(buf, e.id, -32602, "echo needs a string argument \"message\"")
	}
	buf = appendResultStart(buf, e.id)
	buf = append(buf, `{"content":[{"type":"text","text":`...)
	buf = append(buf, msg...)
	buf = append(buf, `}]`...)
	if s.modern() {
		buf = append(append(buf, ','), modernStamp...)
	}
	return append(buf, `}}`...)
}

// result appends a result object with the given members; a 2026-07-28
// server stamps it, and a cacheable one gets the cache fields too.
func (s *echoServer) result(buf, id []byte, members string, cacheable bool) []byte {
	buf = appendResultStart(buf, id)
	buf = append(append(buf, '{'), members...)
	if s.modern() {
		if members != "" {
			buf = append(buf, ',')
		}
		if cacheable {
			buf = append(buf, modernCacheable...)
		} else {
			buf = append(buf, modernStamp...)
		}
	}
	return append(buf, `}}`...)
}

func appendResultStart(buf, id []byte) []byte {
	buf = append(buf, `{"jsonrpc":"2.0","id":`...)
	buf = append(buf, id...)
	return append(buf, `,"result":`...)
}

func appendError(buf, id []byte, code int, message string) []byte {
	buf = append(buf, `{"jsonrpc":"2.0","id":`...)
	buf = append(buf, id...)
	buf = append(buf, `,"error":{"code":`...)
	buf = strconv.AppendInt(buf, int64(code), 10)
	buf = append(buf, `,"message":`...)
	buf = strconv.AppendQuote(buf, message)
	return append(buf, `}}`...)
}

// lineReader reads newline-delimited messages of any length: a line longer
// than the buffer is gathered, never refused.
type lineReader struct {
	r    *bufio.Reader
	long []byte
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next non-empty line without its line ending. It is
// valid until the following call.
func (l *lineReader) next() ([]byte, error) {
	for {
		line, err := l.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			l.long = append(l.long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = l.r.ReadSlice('\n')
				l.long = append(l.long, line...)
			}
			line = l.long
		}
		if err != nil {
			if errors.Is(err, io.EOF) && len(bytes.TrimSpace(line)) > 0 {
				return bytes.TrimSpace(line), nil
			}
			return nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) > 0 {
			return line, nil
		}
	}
}

// echoFlags parses the echo backend's and the do-nothing HTTP endpoint's
// flags.
func echoFlags(name string, args []string) (*echoServer, string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	protocol := fs.String("protocol", "", "the one protocol version to speak (default: the one asked for)")
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on (null-http)")
	if err := fs.Parse(args); err != nil {
		return nil, "", err
	}
	return &echoServer{pinned: *protocol}, *addr, nil
}

// runEcho serves the echo backend on stdin/stdout until stdin ends.
func runEcho(args []string) int {
	s, _, err := echoFlags("echo", args)
	if err != nil {
		return 2
	}
	if err := s.serveStdio(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		return 1
	}
	return 0
}

// serveStdio answers each line of in on out, one write per answer.
func (s *echoServer) serveStdio(in io.Reader, out io.Writer) error {
	lines := newLineReader(in)
	var buf []byte
	for {
		line, err := lines.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		e, err := parseEnvelope(line)
		if err != nil {
			buf = appendError(buf[:0], []byte("null"), -32700, "Parse error")
		} else {
			buf = s.answer(buf[:0], e)
		}
		if len(buf) == 0 {
			continue
		}
		if _, err := out.Write(append(buf, '\n')); err != nil {
			return err
		}
	}
}

// runNullHTTP serves the echo backend over streamable HTTP (JSON replies
// only, no streams): the do-nothing HTTP endpoint that shows the load
// client's own ceiling. It prints "listening on URL" on stderr and runs
// until it is killed.
func runNullHTTP(args []string) int {
	s, addr, err := echoFlags("null-http", args)
	if err != nil {
		return 2
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "null-http:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "listening on http://%s/mcp\n", ln.Addr())
	srv := &http.Server{Handler: &nullHandler{echo: s}}
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "null-http:", err)
		return 1
	}
	return 0
}

// nullHandler answers POSTed JSON-RPC with the echo backend's answers.
type nullHandler struct {
	echo     *echoServer
	sessions atomic.Int64
	bufs     sync.Pool
}

func (h *nullHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
	case http.MethodDelete:
		return
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	buf, _ := h.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer h.bufs.Put(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(r.Body); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	e, err := parseEnvelope(buf.Bytes())
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	out := h.echo.answer(nil, e)
	if len(out) == 0 {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if string(e.method) == `"initialize"` {
		w.Header().Set("Mcp-Session-Id", "null-"+strconv.FormatInt(h.sessions.Add(1), 10))
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}
