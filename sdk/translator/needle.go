package translator

import (
	"bytes"
	"strings"
)

// needle is the bytes a Condition.Contains looks for. A needle with a
// rare byte (upper case, "_", "/") is searched by that byte: bytes.Index
// starts from the first byte, which in the needles rules use is usually a
// quote, and the quotes of a JSON message soon make it fall back to a
// slower search, while IndexByte on a rare byte skips most of a large
// message in vector steps. A needle of common bytes only ("error") is left
// to bytes.Index, which does better than hitting one every few bytes.
type needle struct {
	b    []byte
	rare int // the index in b of the byte to search for; -1: use bytes.Index
}

// rareRank is the rank in commonBytes from which a byte counts as rare.
var rareRank = strings.IndexByte(commonBytes, 'v')

// commonBytes are the bytes of JSON-encoded text and code, roughly from
// most to least frequent; any other byte (upper case, most punctuation)
// counts as rarer than all of them.
const commonBytes = ` e"taoinsrhldcu:,mfpgwyb.v\{}[]0123456789kx-j_/qz`

func newNeedle(s string) needle {
	n := needle{b: []byte(s)}
	best := -1
	for i := range len(s) {
		// A byte not in commonBytes ranks len(commonBytes): the rarest.
		rank := strings.IndexByte(commonBytes, s[i])
		if rank < 0 {
			rank = len(commonBytes)
		}
		if rank >= best {
			best, n.rare = rank, i
		}
	}
	if best < rareRank {
		n.rare = -1
	}
	return n
}

// in reports whether msg contains the needle; an empty needle is in
// everything.
func (n *needle) in(msg []byte) bool {
	if len(n.b) <= 1 || n.rare < 0 {
		return bytes.Contains(msg, n.b)
	}
	c := n.b[n.rare]
	fails := 0
	for i := n.rare; i < len(msg); i++ {
		j := bytes.IndexByte(msg[i:], c)
		if j < 0 {
			return false
		}
		i += j
		start := i - n.rare
		if start+len(n.b) > len(msg) {
			return false
		}
		if bytes.Equal(msg[start:start+len(n.b)], n.b) {
			return true
		}
		// When the byte is not rare in this message after all, the
		// calls cost more than they skip: search the rest as bytes.Index
		// does.
		if fails++; fails > 8+i>>4 {
			return bytes.Contains(msg[start+1:], n.b)
		}
	}
	return false
}
