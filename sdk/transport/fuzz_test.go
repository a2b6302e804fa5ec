package transport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"testing"
)

// FuzzFrameReader: the data socket's frame reader reads any byte stream as
// a plain walk over its headers would: frames up to the limit whole, an
// oversized header refused, a stream cut mid-frame as ErrUnexpectedEOF, at
// a frame boundary as EOF; a read that fails mid-frame (a deadline) loses
// nothing. Frames written by writeFrame come back as written.
func FuzzFrameReader(f *testing.F) {
	frame := func(kind byte, payload string) []byte {
		var b bytes.Buffer
		_, _ = writeFrame(&b, kind, []byte(payload))
		return b.Bytes()
	}
	f.Add(frame(frameToken, "0123456789abcdef"), uint16(1024), uint8(0), uint8(0))
	f.Add(append(frame(frameMessage, `{"jsonrpc":"2.0","id":1,"method":"ping"}`), frame(frameClosed, "exit status 1")...), uint16(100), uint8(3), uint8(2))
	f.Add(append(frame(frameMessage, ""), 'M', 0, 0), uint16(10), uint8(1), uint8(1))
	f.Add([]byte{'M', 0xff, 0xff, 0xff, 0xff, 'x'}, uint16(10), uint8(0), uint8(0))
	f.Add(append(frame(frameMessage, "abc"), 'M', 0, 0, 0, 5, 'a'), uint16(5), uint8(2), uint8(3))
	f.Fuzz(func(t *testing.T, stream []byte, limit uint16, chunk, failEvery uint8) {
		type frameOut struct {
			kind    byte
			payload string
		}
		// The walk.
		var want []frameOut
		var wantErr string
		for rest := stream; ; {
			if len(rest) == 0 {
				wantErr = "EOF"
				break
			}
			if len(rest) < frameHeader {
				wantErr = "unexpected EOF"
				break
			}
			n := binary.BigEndian.Uint32(rest[1:frameHeader])
			if int64(n) > int64(limit) {
				wantErr = "limit"
				break
			}
			if uint64(len(rest)-frameHeader) < uint64(n) {
				wantErr = "unexpected EOF"
				break
			}
			want = append(want, frameOut{rest[0], string(rest[frameHeader : frameHeader+int(n)])})
			rest = rest[frameHeader+int(n):]
		}
		fail := int(failEvery % 8)
		if fail == 1 {
			fail = 2 // every read failing would never get anywhere
		}
		r := newFrameReader(&flakyReader{data: stream, chunk: int(chunk), failEvery: fail}, int(limit))
		var got []frameOut
		var gotErr string
		for range 4*len(stream) + 16 {
			kind, payload, err := r.next()
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue // what was read stays with the reader
			}
			if err != nil {
				switch {
				case errors.Is(err, io.ErrUnexpectedEOF):
					gotErr = "unexpected EOF"
				case errors.Is(err, io.EOF):
					gotErr = "EOF"
				default:
					gotErr = "limit"
				}
				break
			}
			got = append(got, frameOut{kind, string(payload)})
		}
		if gotErr == "" {
			t.Fatalf("the reader never stopped on %q", stream)
		}
		if len(got) != len(want) || gotErr != wantErr {
			t.Fatalf("%q (limit %d): got %d frames then %s, want %d then %s", stream, limit, len(got), gotErr, len(want), wantErr)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("frame %d: got %q, want %q", i, got[i], want[i])
			}
		}
	})
}

// flakyReader returns at most chunk bytes a read (0: as many as asked), and
// every failEvery-th read fails with a deadline instead.
type flakyReader struct {
	data             []byte
	chunk, failEvery int
	reads            int
}

func (r *flakyReader) Read(p []byte) (int, error) {
	r.reads++
	if r.failEvery > 0 && r.reads%r.failEvery == 0 {
		return 0, os.ErrDeadlineExceeded
	}
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	if r.chunk > 0 && len(p) > r.chunk {
		p = p[:r.chunk]
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}
