package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/tidwall/gjson"
)

const traceUsage = `usage: mcphost trace [-admin URL | -copy PID] [-config FILE] [-token T] [-token-file FILE] COMMAND [ARGS]

Context tracing of a running mcphost, for a person, through its admin API:

  response [ID|latest] [-format tree|compact|json]   the contexts behind a response, with weights
  context ID                                           a context's versions and the responses it fed
  top                                                  the highest-quality contexts
  deprecated                                           the contexts feedback has deprecated
  feedback ID|latest SCORE [TEXT]                      rate a response (SCORE in [-1, 1])

"latest" is the newest response of any client session. The copy and the token are found as for
mcphost ctl.
`

func runTrace(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c, err := adminCommand("trace", traceUsage, args, os.Getenv, stderr)
	if err != nil {
		return err
	}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	switch cmd {
	case "response":
		sub := flag.NewFlagSet("trace response", flag.ContinueOnError)
		sub.SetOutput(stderr)
		format := sub.String("format", "tree", "tree, compact or json")
		id := "latest"
		if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
			id, rest = rest[0], rest[1:]
		}
		if err := sub.Parse(rest); err != nil || sub.NArg() > 0 {
			return errUsage
		}
		return c.traceTool(ctx, stdout, "mcp__proxy__tracing__get_trace", map[string]any{"response_id": id, "format": *format}, *format == "json")
	case "context":
		if len(rest) != 1 {
			return ctlUsageError(stderr, "context takes one context id")
		}
		if err := c.traceTool(ctx, stdout, "mcp__proxy__tracing__get_evolution_history", map[string]any{"context_id": rest[0]}, false); err != nil {
			return err
		}
		fmt.Fprintln(stdout)
		return c.traceTool(ctx, stdout, "mcp__proxy__tracing__query_context_impact", map[string]any{"context_id": rest[0]}, false)
	case "top", "deprecated":
		uri := map[string]string{"top": "trace://quality/top-contexts", "deprecated": "trace://quality/deprecated-contexts"}[cmd]
		return c.traceContexts(ctx, stdout, uri)
	case "feedback":
		if len(rest) < 2 {
			return ctlUsageError(stderr, "feedback takes a response id and a score")
		}
		score, err := strconv.ParseFloat(rest[1], 64)
		if err != nil || score < -1 || score > 1 {
			return ctlUsageError(stderr, "the score must be a number in [-1, 1]")
		}
		args := map[string]any{"response_id": rest[0], "score": score, "user": "mcphost trace"}
		if len(rest) > 2 {
			args["text"] = strings.Join(rest[2:], " ")
		}
		return c.traceTool(ctx, stdout, "mcp__proxy__tracing__submit_feedback", args, false)
	}
	return ctlUsageError(stderr, fmt.Sprintf("unknown trace command %q", cmd))
}

// traceTool calls a tracing tool and prints its text (or, with raw, its
// structured result as JSON).
func (c *ctlClient) traceTool(ctx context.Context, stdout io.Writer, name string, args map[string]any, raw bool) error {
	ctx, cancel := context.WithTimeout(ctx, ctlTimeout)
	defer cancel()
	body, _ := json.Marshal(args)
	resp, err := c.doBody(ctx, http.MethodPost, "/trace/tools/"+url.PathEscape(name), body, http.StatusNotFound)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusNotFound {
		// Tracing is off, or has recorded nothing yet: said plainly.
		if msg := gjson.GetBytes(out, "error").Str; msg != "" {
			return errors.New(msg)
		}
		return c.statusError(&http.Response{Status: resp.Status, StatusCode: resp.StatusCode, Body: io.NopCloser(bytes.NewReader(out))})
	}
	res := gjson.ParseBytes(out)
	if raw && res.Get("structuredContent").Exists() {
		fmt.Fprintln(stdout, res.Get("structuredContent").Raw)
		return nil
	}
	var texts []string
	res.Get("content").ForEach(func(_, c gjson.Result) bool {
		if t := c.Get("text"); t.Exists() {
			texts = append(texts, t.Str)
		}
		return true
	})
	fmt.Fprintln(stdout, strings.Join(texts, "\n"))
	if res.Get("isError").Bool() {
		return fmt.Errorf("%s failed", name)
	}
	return nil
}

// traceContexts prints a quality resource as a table.
func (c *ctlClient) traceContexts(ctx context.Context, stdout io.Writer, uri string) error {
	ctx, cancel := context.WithTimeout(ctx, ctlTimeout)
	defer cancel()
	resp, err := c.do(ctx, http.MethodGet, "/trace/resource?uri="+url.QueryEscape(uri))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	text := gjson.GetBytes(out, "contents.0.text").Str
	doc := gjson.Parse(text)
	list := doc.Get("contexts")
	if !list.Exists() {
		fmt.Fprintln(stdout, text)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONTEXT\tQUALITY\tFEEDBACK\tSOURCE\tSUMMARY")
	list.ForEach(func(_, c gjson.Result) bool {
		source := c.Get("server").Str + " " + c.Get("name").Str + c.Get("uri").Str
		fmt.Fprintf(tw, "%s\t%.3f\t%d\t%s\t%s\n", c.Get("context_id").Str, c.Get("quality").Float(),
			c.Get("feedback_count").Int(), strings.TrimSpace(source), cut(c.Get("summary").Str, 60))
		return true
	})
	return tw.Flush()
}

func cut(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
