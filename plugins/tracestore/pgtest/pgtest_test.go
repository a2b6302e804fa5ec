package pgtest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestClusterGivesSeparateDatabases(t *testing.T) {
	t.Parallel()
	c := Start(t)
	a, b := c.NewDatabase(t), c.NewDatabase(t)
	if a == b {
		t.Fatalf("two databases share a DSN: %s", a)
	}
	c.Exec(t, a, "CREATE TABLE only_in_a (x int)")
	if got := c.Exec(t, b, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'"); got != "0" {
		t.Fatalf("a table of database a is seen in b: count %s", got)
	}
	if got := c.Exec(t, a, "SHOW fsync"); got != "off" {
		t.Fatalf("fsync = %s, want off", got)
	}
	if _, err := os.Stat(filepath.Join(c.SocketDir(), ".s.PGSQL.5432")); err != nil {
		t.Fatalf("no socket in the cluster's directory: %v", err)
	}
}
