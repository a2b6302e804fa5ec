package tracestore

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
)

// Key tags; see the package doc for the layout.
const (
	tagContext  = 'c'
	tagVersion  = 'v'
	tagHash     = 'x'
	tagContent  = 'b'
	tagOpen     = 'o'
	tagResponse = 'r'
	tagImpact   = 'i'
	tagLatest   = 'l'
	tagRespFb   = 'g'
	tagFeedback = 'f'
	tagQuality  = 'q'
	tagMeta     = 'm'
	tagRecent   = 'n'
)

// layoutVersion is stored under metaLayoutKey; a store written with another
// layout is refused rather than misread.
const layoutVersion = "1"

var metaLayoutKey = []byte{tagMeta, 'l', 'a', 'y', 'o', 'u', 't'}

// metaLatestKey holds the newest finalized response of any session (a
// latestRec), which is what "latest" means for an operator.
var metaLatestKey = []byte{tagMeta, 'l', 'a', 't', 'e', 's', 't'}

// idLen is the width of H(id) in keys.
const idLen = 16

// h is H(id): the first 16 bytes of id's SHA-256. 128 bits make a collision
// between two identifiers of one store negligible, and every record keeps its
// full identifier so that a read can still verify it.
func h(id string) [idLen]byte {
	sum := sha256.Sum256([]byte(id))
	var out [idLen]byte
	copy(out[:], sum[:idLen])
	return out
}

func tagged(tag byte, parts ...[]byte) []byte {
	n := 1
	for _, p := range parts {
		n += len(p)
	}
	k := make([]byte, 0, n)
	k = append(k, tag)
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// be64 encodes a time (unix nanoseconds) so that keys sort by it; times
// before 1970 do not occur, so the sign bit is never set.
func be64(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

func contextKey(ctx string) []byte { c := h(ctx); return tagged(tagContext, c[:]) }

func versionPrefix(ctx string) []byte { c := h(ctx); return tagged(tagVersion, c[:]) }

func versionKey(ctx string, v uint32) []byte { return append(versionPrefix(ctx), be32(v)...) }

func hashKey(ctx, contentHash string) []byte {
	c, x := h(ctx), h(contentHash)
	return tagged(tagHash, c[:], x[:])
}

func contentKey(ctx string, v uint32) []byte {
	c := h(ctx)
	return tagged(tagContent, c[:], be32(v))
}

func openKey(resp string) []byte { r := h(resp); return tagged(tagOpen, r[:]) }

func responseKey(resp string) []byte { r := h(resp); return tagged(tagResponse, r[:]) }

func impactPrefix(ctx string) []byte { c := h(ctx); return tagged(tagImpact, c[:]) }

func impactKey(ctx string, t int64, resp string) []byte {
	r := h(resp)
	return append(append(impactPrefix(ctx), be64(t)...), r[:]...)
}

// recentKey indexes finalized responses by time, for
// trace://responses/recent.
func recentKey(t int64, resp string) []byte {
	r := h(resp)
	return tagged(tagRecent, be64(t), r[:])
}

func latestKey(session string) []byte { s := h(session); return tagged(tagLatest, s[:]) }

func respFeedbackPrefix(resp string) []byte { r := h(resp); return tagged(tagRespFb, r[:]) }

func respFeedbackKey(resp string, t int64, fbID string) []byte {
	return append(append(respFeedbackPrefix(resp), be64(t)...), fbID...)
}

func feedbackKey(t int64, fbID string) []byte { return tagged(tagFeedback, be64(t), []byte(fbID)) }

// sortableFloat maps a float64 to a uint64 whose big-endian bytes sort in the
// float's numeric order: negative numbers have all bits flipped, positive
// ones only the sign bit.
func sortableFloat(f float64) uint64 {
	b := math.Float64bits(f)
	if b>>63 == 1 {
		return ^b
	}
	return b | 1<<63
}

func unsortableFloat(u uint64) float64 {
	if u>>63 == 1 {
		return math.Float64frombits(u &^ (1 << 63))
	}
	return math.Float64frombits(^u)
}

func qualityKey(q float64, ctx string) []byte {
	c := h(ctx)
	return tagged(tagQuality, binary.BigEndian.AppendUint64(nil, sortableFloat(q)), c[:])
}

// qualityOf reads q back from a quality index key.
func qualityOf(key []byte) float64 {
	return unsortableFloat(binary.BigEndian.Uint64(key[1:9]))
}

// seekPast is a key that sorts after every key starting with prefix and
// having at most extra more bytes, for reverse iteration.
func seekPast(prefix []byte, extra int) []byte {
	k := make([]byte, len(prefix), len(prefix)+extra)
	copy(k, prefix)
	for range extra {
		k = append(k, 0xff)
	}
	return k
}
