package bench

import (
	"fmt"
	"os"
	"testing"

	"github.com/mcphost/mcphost/host/internal/testenv"
)

// roleEnv, when set, makes the test binary one of the harness's helper
// processes instead of running tests; its first argument names the role:
//
//	echo [-protocol V]               the echo backend on stdio (echo_test.go)
//	null-http [-protocol V] [-addr]  the echo backend over HTTP: the do-nothing endpoint
//	relay ARGV...                    a do-nothing stdio hop in front of ARGV
//
// Children inherit the variable, so a relay's child can be another role.
const roleEnv = "MCPHOST_BENCH_ROLE"

func TestMain(m *testing.M) {
	if os.Getenv(roleEnv) != "" {
		os.Exit(runRole(os.Args[1:]))
	}
	testenv.Main(m)
}

func runRole(args []string) int {
	if len(args) == 0 {
		fmt.Fprintf(os.Stderr, "%s is set but no role is given\n", roleEnv)
		return 2
	}
	switch args[0] {
	case "echo":
		return runEcho(args[1:])
	case "null-http":
		return runNullHTTP(args[1:])
	case "relay":
		return runRelay(args[1:])
	}
	fmt.Fprintf(os.Stderr, "unknown role %q\n", args[0])
	return 2
}
