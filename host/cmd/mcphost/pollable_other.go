//go:build !unix

package main

import "io"

// pollableStdio leaves the stdio front's input and output as they are.
func pollableStdio(in io.Reader, out io.Writer) (io.Reader, io.Writer, func()) {
	return in, out, func() {}
}
