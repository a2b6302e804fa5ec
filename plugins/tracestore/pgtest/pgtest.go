// Package pgtest starts a throw-away PostgreSQL cluster for a test: Debian's
// (or any) PostgreSQL server binaries, a data directory in a temporary
// directory, fsync off, reachable only through a Unix socket in that
// directory (no TCP port, so parallel tests never race for one). Run as
// root, the server runs as the postgres user, since PostgreSQL refuses to
// run as root.
//
// Where no PostgreSQL is installed the test is skipped with a message, and
// fails instead when the environment variable CI is "true".
package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Cluster is a running PostgreSQL server owned by one test.
type Cluster struct {
	bin    string     // the directory of the server binaries
	dir    string     // holds data/, the socket and the log
	cred   credential // whom the server runs as; nil: this process's user
	cmd    *exec.Cmd
	exited chan struct{}
	dbs    atomic.Int64
}

// Superuser is the cluster's superuser, with trust authentication on the
// socket.
const Superuser = "postgres"

// startTimeout bounds initdb and the server's start on a loaded machine.
const startTimeout = 2 * time.Minute

// Start starts a cluster that is stopped when the test ends.
func Start(t testing.TB) *Cluster {
	t.Helper()
	bin, err := serverBinaries()
	if err != nil {
		requireCI(t, err.Error())
	}
	c, err := start(bin)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(c.stop)
	return c
}

// DSN is the connection string (libpq keyword form, which pgx reads) of
// database db as the superuser.
func (c *Cluster) DSN(db string) string {
	return "host=" + c.dir + " port=5432 user=" + Superuser + " dbname=" + db + " sslmode=disable"
}

// SocketDir is the directory of the cluster's Unix socket.
func (c *Cluster) SocketDir() string { return c.dir }

// NewDatabase creates an empty database and returns its DSN.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	name := "t" + strconv.FormatInt(c.dbs.Add(1), 10)
	if out, err := c.psql(context.Background(), c.DSN("postgres"), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database %s: %v: %s", name, err, out)
	}
	return c.DSN(name)
}

// Exec runs sql with psql in the database of dsn (as NewDatabase returns
// it), returning its unaligned output.
func (c *Cluster) Exec(t testing.TB, dsn, sql string) string {
	t.Helper()
	out, err := c.psql(context.Background(), dsn, sql)
	if err != nil {
		t.Fatalf("pgtest: psql %q: %v: %s", sql, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (c *Cluster) psql(ctx context.Context, dsn, sql string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
		"-d", dsn, "-c", sql)
	return cmd.CombinedOutput()
}

// serverBinaries finds the directory holding initdb and postgres:
// $MCPHOST_PG_BIN, the directory initdb on PATH resolves to, or Debian's
// /usr/lib/postgresql/<newest>/bin.
func serverBinaries() (string, error) {
	var tried []string
	if d := os.Getenv("MCPHOST_PG_BIN"); d != "" {
		tried = append(tried, d)
		if hasServer(d) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			d := filepath.Dir(real)
			tried = append(tried, d)
			if hasServer(d) {
				return d, nil
			}
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		tried = append(tried, d)
		if hasServer(d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("PostgreSQL server binaries (initdb, postgres, psql) not found; looked in $MCPHOST_PG_BIN, "+
		"PATH and /usr/lib/postgresql/*/bin (%s); install Debian's postgresql", strings.Join(tried, ", "))
}

func versionOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func hasServer(dir string) bool {
	for _, name := range []string{"initdb", "postgres", "psql"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.IsDir() {
			return false
		}
	}
	return true
}

func requireCI(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("PostgreSQL is required in CI: %s", why)
	}
	t.Skipf("skipping: PostgreSQL not available (%s)", why)
}

// start runs initdb and the server, as the postgres user when root.
func start(bin string) (*Cluster, error) {
	dir, err := os.MkdirTemp("", "mcphost-pg-")
	if err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	c := &Cluster{bin: bin, dir: dir, exited: make(chan struct{})}
	if os.Geteuid() == 0 {
		cred, err := postgresUser()
		if err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		c.cred = cred
		if err := giveTo(dir, cred); err != nil {
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("give %s to the postgres user: %w", dir, err)
		}
	}
	if err := c.initdb(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := c.run(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	cmd.SysProcAttr = procAttr(c.cred)
	return cmd
}

func (c *Cluster) initdb() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	cmd := c.command(ctx, "initdb", "--no-sync", "--auth=trust", "--encoding=UTF8", "--no-instructions",
		"-U", Superuser, "-D", filepath.Join(c.dir, "data"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w: %s", err, out)
	}
	return nil
}

// settings make a cluster fast and private: no TCP, no durability (a test
// database is thrown away), enough connections for several proxies.
var settings = []string{
	"listen_addresses=", "port=5432", "fsync=off", "synchronous_commit=off", "full_page_writes=off",
	"max_connections=200", "shared_buffers=32MB", "log_min_messages=warning",
}

func (c *Cluster) run() error {
	args := []string{"-D", filepath.Join(c.dir, "data"), "-k", c.dir}
	for _, s := range settings {
		args = append(args, "-c", s)
	}
	log, err := os.Create(filepath.Join(c.dir, "server.log"))
	if err != nil {
		return fmt.Errorf("server log: %w", err)
	}
	c.cmd = c.command(context.Background(), "postgres", args...)
	c.cmd.Stdout, c.cmd.Stderr = log, log
	if err := c.cmd.Start(); err != nil {
		_ = log.Close()
		return fmt.Errorf("start postgres: %w", err)
	}
	go func() {
		_ = c.cmd.Wait()
		_ = log.Close()
		close(c.exited)
	}()
	deadline := time.Now().Add(startTimeout)
	for {
		out, err := c.psql(context.Background(), c.DSN("postgres"), "SELECT 1")
		if err == nil && bytes.Equal(bytes.TrimSpace(out), []byte("1")) {
			return nil
		}
		select {
		case <-c.exited:
			logText, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
			return fmt.Errorf("postgres exited while starting: %s", logText)
		default:
		}
		if time.Now().After(deadline) {
			c.stop()
			return fmt.Errorf("postgres not ready after %s: %v: %s", startTimeout, err, out)
		}
		time.Sleep(50 * time.Millisecond) // polling a server that is starting
	}
}

// stop shuts the server down at once (nothing in it is kept) and removes
// its directory.
func (c *Cluster) stop() {
	if c.cmd != nil && c.cmd.Process != nil {
		_ = c.cmd.Process.Signal(syscall.SIGQUIT) // immediate shutdown
		select {
		case <-c.exited:
		case <-time.After(30 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
	}
	_ = os.RemoveAll(c.dir)
}
