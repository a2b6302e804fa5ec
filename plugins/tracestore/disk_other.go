//go:build !unix

package tracestore

import "os"

// allocatedBytes is the file's length where the platform does not report
// allocated blocks.
func allocatedBytes(fi os.FileInfo) int64 { return fi.Size() }

// fileOwner is unknown where the platform has no uids.
func fileOwner(os.FileInfo) (int, bool) { return 0, false }

// diskFree cannot be told here: writes are not checked.
func diskFree(string) (int64, bool) { return 0, false }
