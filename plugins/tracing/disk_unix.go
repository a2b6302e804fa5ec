//go:build unix

package tracing

import (
	"os"
	"syscall"
)

// allocatedBytes is the disk space a file takes, which for Badger's sparse,
// preallocated files is far less than its length.
func allocatedBytes(fi os.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int64(st.Blocks) * 512
	}
	return fi.Size()
}
