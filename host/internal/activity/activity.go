// Package activity keeps the activity log: a record of every tools/call,
// prompts/get and resources/read a client makes through the proxy.
//
// The router hands each record to Log.Record on the message path, which
// only puts it on a bounded queue (or, when the queue is full, drops it
// and counts it). One writer goroutine, owned by the Log (New starts it,
// Close stops it), turns records into admin.ActivityRecords: it redacts
// arguments and results when they are kept, adds the record to an
// in-memory ring of the most recent ones (always on: what the admin API
// serves), appends it as a JSON line to the file when one is configured
// (rotated by size, as the server logs are, by package logs) and
// publishes it for the admin event stream.
package activity

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/host/internal/admin"
	"github.com/mcphost/mcphost/host/internal/logs"
	"github.com/mcphost/mcphost/host/internal/redact"
	"github.com/mcphost/mcphost/host/internal/router"
	"github.com/mcphost/mcphost/sdk/base"
)

// Settings are what the activity block configures; a reload may change
// them (Log.Configure).
type Settings struct {
	// File is the JSON-lines file, "" for none. Its name ends in ".log".
	File     string
	MaxBytes int64
	MaxFiles int
	// Recent is how many records the ring keeps (at least 1).
	Recent           int
	IncludeArguments bool
	IncludeResults   bool
	MaxCaptureBytes  int
}

// Options configure a Log.
type Options struct {
	Settings
	// QueueSize bounds the records waiting for the writer; 0: DefaultQueueSize.
	QueueSize int
	// Dropped, when set, is told of each record dropped for a full queue
	// (the mcphost_activity_dropped_total metric). It must not block.
	Dropped func()
	// Publish, when set, is given every record once it is kept (the admin
	// event stream). It runs on the writer goroutine and must not block.
	Publish func(admin.ActivityRecord)
	Logger  hclog.Logger
}

// DefaultQueueSize is how many records may wait for the writer.
const DefaultQueueSize = 4096

// Log is the activity log. Record and Capture are safe for concurrent use
// on the message path; Query and Configure from anywhere.
type Log struct {
	opts    Options
	log     hclog.Logger
	capture atomic.Pointer[router.ActivityCapture]
	queue   chan *router.ActivityRecord
	dropped atomic.Uint64
	// stop ends the writer, which closes done once it has written what
	// was queued.
	stop chan struct{}
	done chan struct{}

	// mu guards the ring and the file (the writer holds it to append;
	// Configure to swap the file).
	mu    sync.Mutex
	ring  []admin.ActivityRecord
	next  int // where the next record goes in ring
	full  bool
	seq   uint64
	file  *logs.Log
	files *logs.Manager
	// fileFailing is set while the file does not take records, so that
	// a failing disk is logged once rather than per record.
	fileFailing bool
	settings    Settings

	// client is the last clientInfo the writer parsed, and its name and
	// version: the records of a session (and of most clients) repeat it.
	// Only the writer goroutine uses it.
	client struct {
		info          []byte
		name, version string
	}
}

var _ router.ActivityRecorder = (*Log)(nil)

// New opens the file (when set) and starts the writer.
func New(opts Options) (*Log, error) {
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	l := &Log{
		opts: opts, log: opts.Logger,
		queue: make(chan *router.ActivityRecord, opts.QueueSize),
		stop:  make(chan struct{}), done: make(chan struct{}),
	}
	if err := l.Configure(opts.Settings); err != nil {
		return nil, err
	}
	go l.write()
	return l, nil
}

// Configure applies new settings: the ring is resized (keeping the newest
// records), the file opened anew when its settings changed, and the
// capture of arguments and results switched at once.
func (l *Log) Configure(s Settings) error {
	if s.Recent < 1 {
		return fmt.Errorf("activity: recent must be at least 1, got %d", s.Recent)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.settings
	if s.File != old.File || s.MaxBytes != old.MaxBytes || s.MaxFiles != old.MaxFiles || l.files == nil && s.File != "" {
		var (
			files *logs.Manager
			file  *logs.Log
		)
		if s.File != "" {
			var err error
			if files, file, err = openFile(s); err != nil {
				return err
			}
		}
		if l.files != nil {
			if err := l.files.Close(); err != nil {
				l.log.Warn("closing the previous activity file", "error", err)
			}
		}
		l.files, l.file, l.fileFailing = files, file, false
	}
	if s.Recent != old.Recent || l.ring == nil {
		recent := l.newestFirst(admin.ActivityQuery{Limit: s.Recent})
		l.ring, l.next, l.full = make([]admin.ActivityRecord, s.Recent), 0, false
		for i := len(recent) - 1; i >= 0; i-- {
			l.keep(recent[i])
		}
	}
	l.settings = s
	l.capture.Store(&router.ActivityCapture{Arguments: s.IncludeArguments, Results: s.IncludeResults, MaxBytes: s.MaxCaptureBytes})
	return nil
}

// openFile opens the activity file with package logs, which rotates it by
// size as it does the server logs: <name>.log, <name>.log.1, ….
func openFile(s Settings) (*logs.Manager, *logs.Log, error) {
	dir, base := filepath.Split(s.File)
	name, ok := strings.CutSuffix(base, ".log")
	if !ok || name == "" {
		return nil, nil, fmt.Errorf("activity: file %s: the name must end in .log", s.File)
	}
	m, err := logs.New(logs.Options{Dir: dir, MaxBytes: s.MaxBytes, MaxFiles: s.MaxFiles, Only: name})
	if err != nil {
		return nil, nil, fmt.Errorf("activity: %w", err)
	}
	f, err := m.Log(name)
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("activity: %w", err), m.Close())
	}
	return m, f, nil
}

// Capture implements router.ActivityRecorder.
func (l *Log) Capture() router.ActivityCapture { return *l.capture.Load() }

// Record implements router.ActivityRecorder: it queues rec for the
// writer, or drops it when the queue is full.
func (l *Log) Record(rec *router.ActivityRecord) {
	select {
	case l.queue <- rec:
	default:
		l.dropped.Add(1)
		if l.opts.Dropped != nil {
			l.opts.Dropped()
		}
	}
}

// Dropped is how many records were dropped since start.
func (l *Log) Dropped() uint64 { return l.dropped.Load() }

// Close stops the writer once it has written what is queued, and closes
// the file. Records handed over after Close are never kept.
func (l *Log) Close() error {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.files == nil {
		return nil
	}
	err := l.files.Close()
	l.files, l.file = nil, nil
	return err
}

// write is the writer goroutine.
func (l *Log) write() {
	defer close(l.done)
	for {
		select {
		case rec := <-l.queue:
			l.handle(rec)
		case <-l.stop:
			for {
				select {
				case rec := <-l.queue:
					l.handle(rec)
				default:
					return
				}
			}
		}
	}
}

// handle keeps one record: in the ring, in the file, and published.
func (l *Log) handle(rec *router.ActivityRecord) {
	r := convert(rec)
	r.ClientName, r.ClientVersion = l.clientOf(rec.ClientInfo)
	l.mu.Lock()
	l.seq++
	r.Seq = l.seq
	l.keep(r)
	if l.file != nil {
		line, err := json.Marshal(r)
		if err == nil {
			_, err = l.file.Write(append(line, '\n'))
		}
		switch {
		case err != nil && !l.fileFailing:
			l.fileFailing = true
			l.log.Error("the activity file does not take records", "file", l.settings.File, "error", err)
		case err == nil && l.fileFailing:
			l.fileFailing = false
			l.log.Info("the activity file takes records again", "file", l.settings.File)
		}
	}
	l.mu.Unlock()
	if l.opts.Publish != nil {
		l.opts.Publish(r)
	}
}

// keep puts r in the ring. Called with l.mu held.
func (l *Log) keep(r admin.ActivityRecord) {
	l.ring[l.next] = r
	l.next++
	if l.next == len(l.ring) {
		l.next, l.full = 0, true
	}
}

// Query returns the kept records q selects, newest first.
func (l *Log) Query(q admin.ActivityQuery) admin.ActivityList {
	l.mu.Lock()
	defer l.mu.Unlock()
	return admin.ActivityList{Records: l.newestFirst(q), Kept: len(l.ring), Dropped: l.dropped.Load()}
}

// newestFirst walks the ring back from the newest record. Called with
// l.mu held.
func (l *Log) newestFirst(q admin.ActivityQuery) []admin.ActivityRecord {
	n := l.next
	if l.full {
		n = len(l.ring)
	}
	var out []admin.ActivityRecord
	for i := 0; i < n && len(out) < q.Limit; i++ {
		r := &l.ring[(l.next-1-i+len(l.ring))%len(l.ring)]
		if q.Match(r) {
			out = append(out, *r)
		}
	}
	return out
}

// clientOf is the name and version of a session's clientInfo, parsed
// only when it differs from the last record's.
func (l *Log) clientOf(info []byte) (name, version string) {
	if !bytes.Equal(info, l.client.info) {
		parsed := gjson.ParseBytes(info)
		l.client.info = append(l.client.info[:0], info...)
		l.client.name, l.client.version = parsed.Get("name").String(), parsed.Get("version").String()
	}
	return l.client.name, l.client.version
}

// convert turns the router's record into the one the API and the file
// show, redacting what it keeps of arguments and results: values under
// keys that name secrets (token, password, authorization, …) are hidden,
// and so is each such value wherever it appears in the result.
func convert(rec *router.ActivityRecord) admin.ActivityRecord {
	r := admin.ActivityRecord{
		Time: rec.Time.UTC(), Session: rec.SessionID, Profile: rec.Profile, Server: rec.Server, Kind: rec.Kind,
		Name: rec.Name, ExposedName: rec.ExposedName, Outcome: string(rec.Outcome), Code: rec.Code,
		DurationMs:   float64(rec.Duration) / float64(time.Millisecond),
		RequestBytes: rec.RequestBytes, ResponseBytes: rec.ResponseBytes,
	}
	var secrets redact.Secrets
	if rec.Arguments != nil {
		r.Arguments, secrets = redactJSON(rec.Arguments, nil)
	} else if rec.ArgumentsBytes > 0 {
		r.ArgumentsBytes = rec.ArgumentsBytes
	}
	if rec.Result != nil {
		r.Result, _ = redactJSON(rec.Result, secrets)
	} else if rec.ResultBytes > 0 {
		r.ResultBytes = rec.ResultBytes
	}
	return r
}

// redactJSON hides the secrets in raw (see convert), and the values of
// known also wherever they appear as text.
func redactJSON(raw []byte, known redact.Secrets) (json.RawMessage, redact.Secrets) {
	out, secrets := redact.Config(base.Schema{}, raw)
	secrets = append(secrets, known...)
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) }) // longest first, as Text wants
	if len(secrets) > 0 {
		text := secrets.Text(string(out))
		if json.Valid([]byte(text)) {
			out = json.RawMessage(text)
		}
	}
	return out, secrets
}
