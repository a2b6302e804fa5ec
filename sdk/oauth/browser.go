package oauth

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// OpenBrowser shows authURL to the person signing in: it always prints it
// to w, then runs $BROWSER (split into fields, the URL appended as the
// last argument) when getenv gives one, else the platform's opener
// (xdg-open, open, or rundll32 url.dll,FileProtocolHandler). Failing to
// start a browser is not an error: the URL was printed. The browser is
// not waited for (a browser may run long after the sign-in); its process
// is reaped when it exits.
func OpenBrowser(ctx context.Context, authURL string, getenv func(string) string, w io.Writer) error {
	if getenv == nil {
		getenv = os.Getenv
	}
	if w == nil {
		w = io.Discard
	}
	if _, err := fmt.Fprintf(w, "To sign in, open this URL in a browser:\n\n  %s\n\n", authURL); err != nil {
		return fmt.Errorf("oauth: print the sign-in URL: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	argv := browserCommand(runtime.GOOS, getenv("BROWSER"))
	if len(argv) == 0 {
		return nil
	}
	cmd := exec.Command(argv[0], append(argv[1:], authURL)...)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(w, "Could not start a browser (%v); open the URL by hand.\n", err)
		return nil
	}
	// The process is this goroutine's to reap; the browser's exit status
	// tells nothing about the sign-in, which the redirect reports.
	go func() { _ = cmd.Wait() }()
	return nil
}

// browserCommand is the command that opens a URL (without it): $BROWSER's
// fields, else the platform's opener.
func browserCommand(goos, browser string) []string {
	if f := strings.Fields(browser); len(f) > 0 {
		return f
	}
	switch goos {
	case "darwin":
		return []string{"open"}
	case "windows":
		return []string{"rundll32", "url.dll,FileProtocolHandler"}
	default:
		return []string{"xdg-open"}
	}
}
