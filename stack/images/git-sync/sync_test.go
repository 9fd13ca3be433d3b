package main

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as the git-sync program (GITSYNC_TEST_MAIN=1), so the
// tests can check exit codes and signals without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("GITSYNC_TEST_MAIN") == "1" {
		os.Exit(realMain(os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func mainCmd(t *testing.T, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "GITSYNC_TEST_MAIN=1"), env...)
	return cmd
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// server is a bare "remote" repo plus a clone to push commits from.
type server struct {
	bare, work string
}

func newServer(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	s := &server{bare: filepath.Join(dir, "dags.git"), work: filepath.Join(dir, "work")}
	git(t, dir, "init", "--quiet", "--bare", "--initial-branch=main", s.bare)
	git(t, dir, "init", "--quiet", "--initial-branch=main", s.work)
	git(t, s.work, "remote", "add", "origin", s.bare)
	return s
}

func (s *server) url() string { return "file://" + s.bare }

// commit writes files (path -> content; "" deletes), commits, pushes, returns the hash.
func (s *server) commit(t *testing.T, files map[string]string) string {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(s.work, p)
		if content == "" {
			os.Remove(full)
			continue
		}
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git(t, s.work, "add", "-A")
	git(t, s.work, "commit", "--quiet", "-m", "c")
	git(t, s.work, "push", "--quiet", "origin", "HEAD:main")
	return git(t, s.work, "rev-parse", "HEAD")
}

func testConfig(repo, root string) config {
	return config{Repo: repo, Ref: "main", Root: root, Link: "repo", Depth: 1,
		Period: 50 * time.Millisecond, MaxFailures: 0, SyncTimeout: 20 * time.Second, Git: "git"}
}

// syncBuf is a goroutine-safe log sink.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func testLogger(t *testing.T) (*log.Logger, *syncBuf) {
	buf := &syncBuf{}
	return log.New(io.MultiWriter(buf, testWriter{t}), "", 0), buf
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(8 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readlink(t *testing.T, p string) string {
	t.Helper()
	target, err := os.Readlink(p)
	if err != nil {
		t.Fatal(err)
	}
	return target
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var linkTargetRE = regexp.MustCompile(`^\.worktrees/[0-9a-f]{40}$`)

func TestSidecarSyncsAndSwapsAtomically(t *testing.T) {
	srv := newServer(t)
	c1 := srv.commit(t, map[string]string{"dags/a.py": "v1", "dags/b.py": "v1"})
	root := filepath.Join(t.TempDir(), "git")
	cfg := testConfig(srv.url(), root)
	logger, logs := testLogger(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() { done <- run(ctx, cfg, logger) }()
	defer func() {
		cancel()
		if rc := <-done; rc != 0 {
			t.Errorf("run returned %d after cancel", rc)
		}
	}()

	link := filepath.Join(root, "repo")
	waitFor(t, "first sync", func() bool { _, err := os.Lstat(link); return err == nil })
	if got := readlink(t, link); got != ".worktrees/"+c1 {
		t.Fatalf("link -> %q, want relative .worktrees/%s", got, c1)
	}
	if readFile(t, filepath.Join(link, "dags/a.py")) != "v1" {
		t.Fatal("content")
	}
	// Readable by group (and others), whatever the test runner's umask.
	for _, p := range []string{filepath.Join(link, "dags"), filepath.Join(link, "dags/a.py")} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm()&0o044 != 0o044 {
			t.Fatalf("%s: mode %v, %v", p, fi.Mode(), err)
		}
	}

	// A watcher: from now on the link must always exist and point at a whole worktree.
	stop := make(chan struct{})
	var watchErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			target, err := os.Readlink(link)
			if err != nil || !linkTargetRE.MatchString(target) {
				watchErr = err
				if err == nil {
					watchErr = os.ErrInvalid
				}
				return
			}
		}
	}()

	c2 := srv.commit(t, map[string]string{"dags/a.py": "v2", "dags/b.py": "", "dags/c.py": "v2"})
	waitFor(t, "second sync", func() bool { t, _ := os.Readlink(link); return t == ".worktrees/"+c2 })
	if readFile(t, filepath.Join(link, "dags/a.py")) != "v2" || readFile(t, filepath.Join(link, "dags/c.py")) != "v2" {
		t.Fatal("content after update")
	}
	if _, err := os.Stat(filepath.Join(link, "dags/b.py")); !os.IsNotExist(err) {
		t.Fatalf("deleted file still there: %v", err)
	}
	c3 := srv.commit(t, map[string]string{"dags/a.py": "v3"})
	waitFor(t, "third sync", func() bool { t, _ := os.Readlink(link); return t == ".worktrees/"+c3 })
	close(stop)
	wg.Wait()
	if watchErr != nil {
		t.Fatalf("a reader saw a missing or foreign link: %v", watchErr)
	}

	// Old worktrees are gone, from disk and from git's list; no temp link left over.
	// The sidecar removes them after the swap (directories first, then `git worktree
	// prune`), so both are waited for rather than read once.
	waitFor(t, "old worktree removal", func() bool {
		entries, _ := os.ReadDir(filepath.Join(root, ".worktrees"))
		return len(entries) == 1 && entries[0].Name() == c3
	})
	var wts string
	waitFor(t, "git to forget old worktrees", func() bool {
		wts = git(t, root, "--git-dir", filepath.Join(root, ".git"), "worktree", "list")
		return !strings.Contains(wts, c1[:7]) && !strings.Contains(wts, c2[:7])
	})
	if !strings.Contains(wts, c3[:7]) {
		t.Fatalf("git does not list the current worktree:\n%s", wts)
	}
	if _, err := os.Lstat(filepath.Join(root, ".repo.tmp")); !os.IsNotExist(err) {
		t.Fatal("temp link left behind")
	}
	// Depth 1: only the synced commit is in the local repo.
	if n := git(t, root, "--git-dir", filepath.Join(root, ".git"), "rev-list", "--count", c3); n != "1" {
		t.Fatalf("history depth %s, want 1", n)
	}
	// One log line per sync, with the hash.
	for _, c := range []string{c1, c2, c3} {
		if strings.Count(logs.String(), "hash="+c) != 1 {
			t.Fatalf("want one log line for %s in:\n%s", c, logs.String())
		}
	}
}

func TestOneTime(t *testing.T) {
	srv := newServer(t)
	c1 := srv.commit(t, map[string]string{"dags/a.py": "v1"})
	root := filepath.Join(t.TempDir(), "git")
	cfg := testConfig(srv.url(), root)
	cfg.OneTime = true
	cfg.Period = time.Hour // must not wait for it
	logger, logs := testLogger(t)
	start := time.Now()
	if rc := run(context.Background(), cfg, logger); rc != 0 {
		t.Fatalf("rc %d", rc)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("one-time mode waited")
	}
	if readFile(t, filepath.Join(root, "repo/dags/a.py")) != "v1" {
		t.Fatal("content")
	}

	// A restart on the same volume keeps the tree, and clears leftovers of an interrupted run.
	stale := filepath.Join(root, ".worktrees", strings.Repeat("0", 40))
	os.MkdirAll(filepath.Join(stale, "dags"), 0o755)
	if rc := run(context.Background(), cfg, logger); rc != 0 {
		t.Fatalf("rc %d", rc)
	}
	if !strings.Contains(logs.String(), "already up to date ref=main hash="+c1) {
		t.Fatalf("log:\n%s", logs.String())
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatal("stale worktree not removed")
	}

	// A new commit: the next one-time run moves the link and drops the old worktree.
	c2 := srv.commit(t, map[string]string{"dags/a.py": "v2"})
	if rc := run(context.Background(), cfg, logger); rc != 0 {
		t.Fatalf("rc %d", rc)
	}
	if readlink(t, filepath.Join(root, "repo")) != ".worktrees/"+c2 || readFile(t, filepath.Join(root, "repo/dags/a.py")) != "v2" {
		t.Fatal("not updated")
	}
	if _, err := os.Stat(filepath.Join(root, ".worktrees", c1)); !os.IsNotExist(err) {
		t.Fatal("old worktree kept")
	}

	// A damaged repo under root is re-created.
	os.WriteFile(filepath.Join(root, ".git", "HEAD"), []byte("garbage"), 0o644)
	c3 := srv.commit(t, map[string]string{"dags/a.py": "v3"})
	if rc := run(context.Background(), cfg, logger); rc != 0 {
		t.Fatalf("rc %d", rc)
	}
	if readFile(t, filepath.Join(root, "repo/dags/a.py")) != "v3" || readlink(t, filepath.Join(root, "repo")) != ".worktrees/"+c3 {
		t.Fatal("not recovered")
	}
}

func TestRefIsCommitHash(t *testing.T) {
	srv := newServer(t)
	c1 := srv.commit(t, map[string]string{"f": "1"})
	srv.commit(t, map[string]string{"f": "2"})
	root := filepath.Join(t.TempDir(), "git")
	cfg := testConfig(srv.url(), root)
	cfg.OneTime, cfg.Ref = true, c1
	logger, _ := testLogger(t)
	if rc := run(context.Background(), cfg, logger); rc != 0 {
		t.Fatalf("rc %d", rc)
	}
	if readFile(t, filepath.Join(root, "repo/f")) != "1" {
		t.Fatal("wrong commit")
	}
}

func TestFailures(t *testing.T) {
	missing := "file://" + filepath.Join(t.TempDir(), "nope.git")
	root := filepath.Join(t.TempDir(), "git")

	// The process exits 1 on the first failure with MAX_FAILURES=0 (and in one-time mode).
	for _, extra := range [][]string{{"GITSYNC_MAX_FAILURES=0"}, {"GITSYNC_ONE_TIME=true"}} {
		cmd := mainCmd(t, append([]string{"GITSYNC_REPO=" + missing, "GITSYNC_ROOT=" + root,
			"GITSYNC_LINK=repo", "GITSYNC_PERIOD=10ms"}, extra...))
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("%v: want exit 1, got %v\n%s", extra, err, out)
		}
		if !strings.Contains(string(out), "too many failures") {
			t.Fatalf("log:\n%s", out)
		}
	}

	// MAX_FAILURES=2: gives up on the third consecutive failure.
	cfg := testConfig(missing, root)
	cfg.Period, cfg.MaxFailures = 10*time.Millisecond, 2
	logger, logs := testLogger(t)
	if rc := run(context.Background(), cfg, logger); rc != 1 {
		t.Fatalf("rc %d", rc)
	}
	if n := strings.Count(logs.String(), "sync failed"); n != 3 {
		t.Fatalf("%d failures logged, want 3:\n%s", n, logs.String())
	}
}

// With MAX_FAILURES=-1 a sidecar keeps retrying until the first push lands (our manifests'
// case: the DAG repo is empty until Tilt's dags-push runs), then syncs.
func TestRetryForeverUntilFirstPush(t *testing.T) {
	srv := newServer(t) // no commits yet: ref "main" does not exist
	root := filepath.Join(t.TempDir(), "git")
	cfg := testConfig(srv.url(), root)
	cfg.Period, cfg.MaxFailures = 10*time.Millisecond, -1
	logger, logs := testLogger(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() { done <- run(ctx, cfg, logger) }()
	waitFor(t, "several failures", func() bool { return strings.Count(logs.String(), "sync failed") >= 5 })
	c1 := srv.commit(t, map[string]string{"dags/a.py": "v1"})
	waitFor(t, "sync after push", func() bool { t, _ := os.Readlink(filepath.Join(root, "repo")); return t == ".worktrees/"+c1 })
	cancel()
	if rc := <-done; rc != 0 {
		t.Fatalf("rc %d", rc)
	}
}

func TestVersion(t *testing.T) {
	out, err := mainCmd(t, nil, "--version").Output()
	if err != nil || strings.TrimSpace(string(out)) != "airwave-git-sync (stand-in for git-sync v4.4.2)" {
		t.Fatalf("%q %v", out, err)
	}
}

func TestSIGTERMExitsZero(t *testing.T) {
	srv := newServer(t)
	srv.commit(t, map[string]string{"dags/a.py": "v1"})
	root := filepath.Join(t.TempDir(), "git")
	var out syncBuf
	cmd := mainCmd(t, []string{"GITSYNC_REPO=" + srv.url(), "GITSYNC_ROOT=" + root, "GITSYNC_UNKNOWN_THING=1"},
		"--link=repo", "--period=20ms", "--max-failures=-1", "--ref=main")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "first sync", func() bool { return strings.Contains(out.String(), "updated successfully") })
	time.Sleep(50 * time.Millisecond) // let it get into a later pass
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "ignoring GITSYNC_UNKNOWN_THING") {
		t.Fatalf("unknown env not reported:\n%s", out.String())
	}
}

// gitHTTPServer serves dir's repos over smart HTTP with `git http-backend` (what the
// in-cluster git server does).
func gitHTTPServer(t *testing.T, dir string) *httptest.Server {
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git")
	}
	h := &cgi.Handler{Path: gitPath, Args: []string{"http-backend"},
		Env: []string{"GIT_PROJECT_ROOT=" + dir, "GIT_HTTP_EXPORT_ALL=1"}}
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

func TestHTTPRepo(t *testing.T) {
	srv := newServer(t)
	c1 := srv.commit(t, map[string]string{"dags/a.py": "v1"})
	hs := gitHTTPServer(t, filepath.Dir(srv.bare))
	root := filepath.Join(t.TempDir(), "git")
	cfg := testConfig(hs.URL+"/dags.git", root)
	cfg.OneTime = true
	logger, _ := testLogger(t)
	if rc := run(context.Background(), cfg, logger); rc != 0 {
		t.Fatalf("rc %d", rc)
	}
	if readlink(t, filepath.Join(root, "repo")) != ".worktrees/"+c1 || readFile(t, filepath.Join(root, "repo/dags/a.py")) != "v1" {
		t.Fatal("http sync")
	}
}

// As root, also run the program as uid/gid 65533 (the real image's user) into a root-owned
// 0777 directory, like an emptyDir volume: git's ownership checks must not get in the way.
func TestRunsAsOtherUID(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch uid")
	}
	srv := newServer(t)
	c1 := srv.commit(t, map[string]string{"dags/a.py": "v1"})
	hs := gitHTTPServer(t, filepath.Dir(srv.bare)) // served by this (root) process

	// A world-readable copy of the test binary, and a root-owned world-writable volume.
	dir, err := os.MkdirTemp("", "gitsync-uid-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	self, _ := os.Executable()
	bin := filepath.Join(dir, "git-sync.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	vol := filepath.Join(dir, "vol")
	os.Mkdir(vol, 0o777)
	os.Chmod(vol, 0o777)

	cmd := exec.Command(bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=/nonexistent", "GITSYNC_TEST_MAIN=1",
		"GITSYNC_REPO=" + hs.URL + "/dags.git", "GITSYNC_REF=main", "GITSYNC_ROOT=" + vol,
		"GITSYNC_LINK=repo", "GITSYNC_DEPTH=1", "GITSYNC_ONE_TIME=true"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65533, Gid: 65533}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("as uid 65533: %v\n%s", err, out)
	}
	if readlink(t, filepath.Join(vol, "repo")) != ".worktrees/"+c1 {
		t.Fatalf("link\n%s", out)
	}
	fi, err := os.Stat(filepath.Join(vol, "repo/dags/a.py"))
	if err != nil || fi.Sys().(*syscall.Stat_t).Uid != 65533 || fi.Mode().Perm()&0o044 != 0o044 {
		t.Fatalf("file %v %v", fi, err)
	}
}
