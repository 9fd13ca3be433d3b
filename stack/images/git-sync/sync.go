package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// Layout under --root (the volume): .git is a bare repo holding everything fetched,
// .worktrees/<hash> is one checked-out commit, and --link is a relative symlink to the
// current worktree. Readers only ever follow the link, which is replaced by rename(2).
const (
	gitDirName       = ".git"
	worktreesDirName = ".worktrees"
)

var hashRE = regexp.MustCompile(`^(?:[0-9a-f]{40}|[0-9a-f]{64})$`)

type syncer struct {
	cfg       config
	log       *log.Logger
	env       []string
	syncCount int
	cleaned   bool // stale worktrees were looked for at least once
	// reportedCurrent: the unchanged state was logged once (on start-up with a kept tree)
	reportedCurrent bool
}

func newSyncer(cfg config, logger *log.Logger) *syncer {
	env := append(os.Environ(),
		"GIT_TERMINAL_PROMPT=0", // never wait for a password on a tty
		"LC_ALL=C",              // stable messages
	)
	return &syncer{cfg: cfg, log: logger, env: env}
}

func (s *syncer) gitDir() string       { return filepath.Join(s.cfg.Root, gitDirName) }
func (s *syncer) worktreesDir() string { return filepath.Join(s.cfg.Root, worktreesDirName) }

// git runs the git binary with args (in the root) and returns its stdout.
func (s *syncer) git(ctx context.Context, args ...string) (string, error) {
	// An explicit --git-dir (no repo discovery) also means git's "dubious ownership" check
	// does not trip over a volume root owned by another uid (a root-owned emptyDir while we
	// run as 65533): ROOT/.git and the worktrees are created by us.
	full := append([]string{"--git-dir", s.gitDir()}, args...)
	cmd := exec.CommandContext(ctx, s.cfg.Git, full...)
	cmd.Dir = s.cfg.Root
	cmd.Env = s.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Own process group, so a timeout also kills git's helpers (git-remote-http, ...).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		msg := strings.TrimSpace(stderr.String())
		return stdout.String(), fmt.Errorf("git %s: %v: %s", redact(strings.Join(args, " "), s.cfg.Repo), err, redact(msg, s.cfg.Repo))
	}
	return stdout.String(), nil
}

// redact hides a password in the repo URL wherever it appears in s.
func redact(s, repo string) string {
	u, err := url.Parse(repo)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); !ok {
		return s
	}
	return strings.ReplaceAll(s, repo, u.Redacted())
}

// ensureRepo makes ROOT/.git a usable bare repo, re-creating it if it is damaged.
func (s *syncer) ensureRepo(ctx context.Context) error {
	if err := os.MkdirAll(s.cfg.Root, 0o755); err != nil {
		return err
	}
	if _, err := os.Stat(s.gitDir()); err == nil {
		if _, err := s.git(ctx, "rev-parse", "--git-dir"); err == nil {
			return nil
		} else if ctx.Err() != nil {
			return err
		} else {
			s.log.Printf("repo under %s is not usable, re-creating it: %v", s.cfg.Root, err)
		}
		// The link (if any) keeps pointing at its worktree until a new one replaces it.
		if err := os.RemoveAll(s.gitDir()); err != nil {
			return err
		}
	}
	if _, err := s.git(ctx, "init", "--bare", "--quiet", s.gitDir()); err != nil {
		return err
	}
	return nil
}

// current returns the hash the link points at, or "" when the link is missing, dangling or
// not one of ours.
func (s *syncer) current() string {
	link := s.cfg.linkPath()
	target, err := os.Readlink(link)
	if err != nil {
		return ""
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join(filepath.Dir(link), target)
	}
	target = filepath.Clean(target)
	hash := filepath.Base(target)
	if !hashRE.MatchString(hash) || filepath.Dir(target) != s.worktreesDir() {
		return ""
	}
	if fi, err := os.Stat(filepath.Join(target, ".git")); err != nil || fi.IsDir() {
		return "" // not a complete worktree
	}
	return hash
}

// remoteHash asks the remote which commit REF names (git ls-remote).
func (s *syncer) remoteHash(ctx context.Context) (string, error) {
	if hashRE.MatchString(s.cfg.Ref) {
		return s.cfg.Ref, nil
	}
	out, err := s.git(ctx, "ls-remote", "--", s.cfg.Repo, s.cfg.Ref)
	if err != nil {
		return "", err
	}
	hash := pickRef(out, s.cfg.Ref)
	if hash == "" {
		return "", fmt.Errorf("ref %q not found in %s", s.cfg.Ref, redact(s.cfg.Repo, s.cfg.Repo))
	}
	return hash, nil
}

// pickRef chooses REF's commit from `git ls-remote` output, the way git resolves a short
// name: exact match, then branch, then tag (peeled if annotated), then any ".../REF".
func pickRef(lsRemote, ref string) string {
	refs := map[string]string{}
	var order []string
	for _, line := range strings.Split(lsRemote, "\n") {
		hash, name, ok := strings.Cut(strings.TrimSpace(line), "\t")
		if !ok || !hashRE.MatchString(hash) {
			continue
		}
		refs[name] = hash
		order = append(order, name)
	}
	for _, name := range []string{ref + "^{}", ref, "refs/heads/" + ref, "refs/tags/" + ref + "^{}", "refs/tags/" + ref} {
		if h, ok := refs[name]; ok {
			return h
		}
	}
	for _, name := range order {
		if strings.HasSuffix(name, "/"+ref) {
			if h, ok := refs[name+"^{}"]; ok {
				return h
			}
			return refs[name]
		}
	}
	return ""
}

// fetch makes sure want (the remote head of REF) is in the local repo and returns the
// commit to publish. It fetches REF by name, so a push between ls-remote and fetch yields
// the newer commit (which is then what gets published).
func (s *syncer) fetch(ctx context.Context, want string) (string, error) {
	if _, err := s.git(ctx, "cat-file", "-e", want+"^{commit}"); err == nil {
		return want, nil
	}
	what := s.cfg.Ref
	args := []string{"fetch", "--quiet", "--no-tags", "--no-auto-gc"}
	if s.cfg.Depth > 0 {
		args = append(args, fmt.Sprintf("--depth=%d", s.cfg.Depth))
	}
	args = append(args, "--", s.cfg.Repo, what)
	if _, err := s.git(ctx, args...); err != nil {
		return "", err
	}
	out, err := s.git(ctx, "rev-parse", "--verify", "FETCH_HEAD^{commit}")
	if err != nil {
		return "", err
	}
	got := strings.TrimSpace(out)
	if !hashRE.MatchString(got) {
		return "", fmt.Errorf("fetch of %q gave %q, not a commit hash", what, got)
	}
	return got, nil
}

// syncOnce runs one pass. It returns the published hash and whether the link moved.
func (s *syncer) syncOnce(ctx context.Context) (string, bool, error) {
	if err := s.ensureRepo(ctx); err != nil {
		return "", false, err
	}
	cur := s.current()
	remote, err := s.remoteHash(ctx)
	if err != nil {
		return "", false, err
	}
	if remote == cur {
		if !s.cleaned {
			s.cleanup(ctx, cur)
		}
		return cur, false, nil
	}
	hash, err := s.fetch(ctx, remote)
	if err != nil {
		return "", false, err
	}
	if hash == cur {
		return cur, false, nil
	}
	if err := s.addWorktree(ctx, hash); err != nil {
		return "", false, err
	}
	if err := s.publish(hash); err != nil {
		return "", false, err
	}
	s.syncCount++
	s.reportedCurrent = true
	s.log.Printf("updated successfully ref=%s hash=%s previous=%s syncCount=%d", s.cfg.Ref, hash, orNone(cur), s.syncCount)
	s.cleanup(ctx, hash)
	if _, err := s.git(ctx, "gc", "--auto", "--quiet"); err != nil && ctx.Err() == nil {
		s.log.Printf("git gc failed (ignored): %v", err)
	}
	return hash, true, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// addWorktree checks hash out into ROOT/.worktrees/<hash>, completely, before anyone can
// see it (the link is only swapped afterwards).
func (s *syncer) addWorktree(ctx context.Context, hash string) error {
	if err := os.MkdirAll(s.worktreesDir(), 0o755); err != nil {
		return err
	}
	wt := filepath.Join(s.worktreesDir(), hash)
	if _, err := os.Lstat(wt); err == nil { // leftover from an interrupted pass
		if err := os.RemoveAll(wt); err != nil {
			return err
		}
	}
	if _, err := s.git(ctx, "worktree", "prune"); err != nil {
		return err
	}
	if _, err := s.git(ctx, "worktree", "add", "--quiet", "--force", "--detach", wt, hash); err != nil {
		os.RemoveAll(wt)
		return err
	}
	return nil
}

// publish points the link at .worktrees/<hash> atomically: a new symlink under a temporary
// name, then rename(2) over the old one. The target is relative, so the volume may be
// mounted anywhere.
func (s *syncer) publish(hash string) error {
	link := s.cfg.linkPath()
	dir := filepath.Dir(link)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	target, err := filepath.Rel(dir, filepath.Join(s.worktreesDir(), hash))
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+filepath.Base(link)+".tmp")
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, link); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replacing %s: %w", link, err)
	}
	return nil
}

// cleanup removes every worktree except keep (the previous one after a swap, and leftovers
// of interrupted runs), then lets git forget them.
func (s *syncer) cleanup(ctx context.Context, keep string) {
	s.cleaned = true
	entries, err := os.ReadDir(s.worktreesDir())
	if err != nil {
		return
	}
	removed := false
	for _, e := range entries {
		if e.Name() == keep {
			continue
		}
		if err := os.RemoveAll(filepath.Join(s.worktreesDir(), e.Name())); err != nil {
			s.log.Printf("removing old worktree %s: %v", e.Name(), err)
			continue
		}
		removed = true
	}
	if removed {
		if _, err := s.git(ctx, "worktree", "prune"); err != nil && ctx.Err() == nil {
			s.log.Printf("git worktree prune failed (ignored): %v", err)
		}
	}
}
