package dbtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Cluster is a PostgreSQL server of the test's own, from the machine's
// initdb and pg_ctl, for tests that stop and start the database or stream
// it to a replica. It listens on a free loopback port, trusts loopback
// connections and is removed when the test ends. As root it runs as the
// postgres user, as scripts/start_db.sh does.
type Cluster struct {
	bin    string // the server's bin directory
	dir    string // parent of data/ and the socket
	port   int
	frozen bool
}

// NewCluster initialises and starts a cluster, or skips the test when the
// machine has no PostgreSQL server binaries.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	bin := serverBinDir()
	if bin == "" {
		t.Skip("no PostgreSQL server binaries (initdb, pg_ctl): install the postgresql package")
	}
	c := newClusterDir(t, bin)
	c.run(t, filepath.Join(bin, "initdb"), "-D", c.data(), "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--locale=C.UTF-8")
	conf := "listen_addresses = '127.0.0.1'\n" +
		"max_connections = 60\nshared_buffers = 32MB\nfsync = off\nfull_page_writes = off\n"
	if err := appendFile(filepath.Join(c.data(), "postgresql.conf"), conf); err != nil {
		t.Fatal(err)
	}
	c.Start(t)
	return c
}

// Replica makes a streaming replica of c with pg_basebackup -R and starts
// it on a port of its own.
func (c *Cluster) Replica(t testing.TB) *Cluster {
	t.Helper()
	r := newClusterDir(t, c.bin)
	c.run(t, filepath.Join(c.bin, "pg_basebackup"), "-D", r.data(), "-h", "127.0.0.1",
		"-p", strconv.Itoa(c.port), "-U", "postgres", "-R", "-X", "stream", "--checkpoint=fast")
	r.Start(t)
	return r
}

func newClusterDir(t testing.TB, bin string) *Cluster {
	t.Helper()
	// Not t.TempDir: its parent is private to root, and the server may run
	// as postgres.
	dir, err := os.MkdirTemp("", "cointracker-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{bin: bin, dir: dir, port: freePort(t)}
	if err := chownToServer(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c.frozen {
			c.signal(t, syscall.SIGCONT)
		}
		_ = c.stop(t, "immediate")
		_ = os.RemoveAll(dir)
	})
	return c
}

// URL is the address of database on the cluster.
func (c *Cluster) URL(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, database)
}

// Start starts the server and waits until it accepts connections.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	c.run(t, filepath.Join(c.bin, "pg_ctl"), "-D", c.data(), "-l", filepath.Join(c.dir, "server.log"),
		"-o", fmt.Sprintf("-p %d -k %s", c.port, c.dir), "-w", "-t", "60", "start")
}

// Stop shuts the server down the way an operator's restart does
// (fast: open sessions are terminated).
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	if err := c.stop(t, "fast"); err != nil {
		t.Fatalf("stop PostgreSQL: %v", err)
	}
}

func (c *Cluster) stop(t testing.TB, mode string) error {
	t.Helper()
	if _, err := os.Stat(filepath.Join(c.data(), "postmaster.pid")); err != nil {
		return nil // not running
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return c.command(ctx, filepath.Join(c.bin, "pg_ctl"), "-D", c.data(), "-m", mode, "-w", "-t", "60", "stop").Run()
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

func (c *Cluster) run(t testing.TB, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := c.command(ctx, name, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
		t.Fatalf("%s %s: %v\n%s\n%s", filepath.Base(name), strings.Join(args, " "), err, out, log)
	}
}

// command runs a server program, as postgres when we are root.
func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, name, args...)
	}
	cmd.Dir = c.dir
	return cmd
}

// serverBinDir finds initdb: pg_config's bin directory, or Debian's.
func serverBinDir() string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		return ""
	}
	return filepath.Dir(matches[len(matches)-1])
}

// chownToServer gives dir to the postgres user when we are root.
func chownToServer(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root needs a postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(dir, uid, gid)
}

func freePort(t testing.TB) int {
	t.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// Freeze stops the server's processes (SIGSTOP) without closing a
// connection: the database hangs, as behind a network partition or a
// stalled disk. Thaw resumes them.
func (c *Cluster) Freeze(t testing.TB) {
	t.Helper()
	c.frozen = true
	c.signal(t, syscall.SIGSTOP)
}

// Thaw resumes a frozen server.
func (c *Cluster) Thaw(t testing.TB) {
	t.Helper()
	c.signal(t, syscall.SIGCONT)
	c.frozen = false
}

// signal sends sig to the postmaster and every process it started.
func (c *Cluster) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	pidFile, err := os.ReadFile(filepath.Join(c.data(), "postmaster.pid"))
	if err != nil {
		t.Fatalf("the cluster is not running: %v", err)
	}
	postmaster, err := strconv.Atoi(strings.SplitN(string(pidFile), "\n", 2)[0])
	if err != nil {
		t.Fatalf("postmaster.pid: %v", err)
	}
	pids := []int{postmaster}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, stat := range stats {
		b, err := os.ReadFile(stat)
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
		fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(postmaster) {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(stat)))
			pids = append(pids, pid)
		}
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, sig); err != nil {
			t.Fatalf("signal %d: %v", pid, err)
		}
	}
}
