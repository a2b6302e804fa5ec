package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/mcphost/mcphost/host/internal/testenv"
)

// TestHostImportsNoExamples keeps examples/ for what a user copies: no
// package under host/, nor its tests, may depend on one there.
func TestHostImportsNoExamples(t *testing.T) {
	t.Parallel()
	goTool, err := testenv.GoTool()
	if err != nil {
		t.Fatal(err)
	}
	const module = "github.com/mcphost/mcphost"
	out, err := exec.Command(goTool, "list", "-deps", "-test", "-f", "{{.ImportPath}}", module+"/host/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list listed no packages")
	}
	for _, dep := range deps {
		if strings.HasPrefix(dep, module+"/examples/") {
			t.Errorf("a package under host/ depends on %s", dep)
		}
	}
}
