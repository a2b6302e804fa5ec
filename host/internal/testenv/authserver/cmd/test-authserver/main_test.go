package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mcphost/mcphost/host/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestServesUntilInterrupted runs the command on a free port: it prints
// its issuer, serves the metadata with the scopes asked for, and exits
// cleanly on SIGINT.
func TestServesUntilInterrupted(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(testenv.BuildBinary(t, "."), "-addr", "127.0.0.1:0", "-scopes", "mcp:tools,mcp:admin")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("reading the issuer: %v", err)
	}
	issuer := strings.TrimSpace(line)
	resp, err := http.Get(issuer + "/.well-known/oauth-authorization-server")
	if err != nil {
		_ = cmd.Process.Kill()
		t.Fatal(err)
	}
	var md struct {
		Issuer string   `json:"issuer"`
		Scopes []string `json:"scopes_supported"`
	}
	err = json.NewDecoder(resp.Body).Decode(&md)
	resp.Body.Close()
	if err != nil || md.Issuer != issuer || strings.Join(md.Scopes, " ") != "mcp:tools mcp:admin" {
		t.Errorf("metadata %+v, %v; want issuer %s and both scopes", md, err, issuer)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGINT: %v", err)
	}
}
