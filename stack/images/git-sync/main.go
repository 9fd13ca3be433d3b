// Command git-sync is airwave's stand-in for git-sync v4.4.2 (kubernetes/git-sync) on the
// offline CI only; users' clusters run the real image. It implements the part of git-sync
// v4's contract that our manifests (stack/airflow/*.yaml) use:
//
//   - config from GITSYNC_REPO, _REF, _ROOT, _LINK, _DEPTH, _PERIOD, _MAX_FAILURES, _ONE_TIME
//     (plus _SYNC_TIMEOUT and _GIT), or the same-named --flags, which win over the env;
//     any other GITSYNC_* (or v3 GIT_SYNC_*) variable is logged as ignored;
//   - every period: `git ls-remote REPO REF`; when the head differs from the commit the link
//     points at, fetch it (--depth) into the bare repo ROOT/.git, `git worktree add` it at
//     ROOT/.worktrees/<hash>, swap the relative symlink ROOT/LINK -> .worktrees/<hash> with
//     rename(2), and remove the previous worktree, so readers never see a partial tree;
//   - one-time mode exits 0 after the first successful sync; after more than MAX_FAILURES
//     consecutive failures (-1 = never) it exits 1; SIGTERM/SIGINT exit 0.
//
// It runs `git` from PATH and works as any uid; files are created with umask 022 so group 0
// (and others) can read them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const versionString = "airwave-git-sync (stand-in for git-sync v4.4.2)"

func main() {
	os.Exit(realMain(os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

func realMain(args, environ []string, stdout, stderr io.Writer) int {
	logger := log.New(stderr, "git-sync: ", log.LstdFlags|log.LUTC|log.Lmicroseconds)
	cfg, ignored, err := parseConfig(args, environ, stderr)
	switch {
	case errors.Is(err, errVersion):
		fmt.Fprintln(stdout, versionString)
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		logger.Printf("invalid configuration: %v", err)
		return 2
	}
	for _, name := range ignored {
		logger.Printf("ignoring %s: not implemented by this stand-in", name)
	}
	logger.Printf("%s starting: repo=%s ref=%s root=%s link=%s depth=%d period=%v max-failures=%d one-time=%t",
		versionString, redact(cfg.Repo, cfg.Repo), cfg.Ref, cfg.Root, cfg.Link, cfg.Depth, cfg.Period, cfg.MaxFailures, cfg.OneTime)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return run(ctx, cfg, logger)
}

// run syncs until ctx is cancelled (returns 0), one-time mode succeeds (0), or there were
// more than MaxFailures consecutive failures (1).
func run(ctx context.Context, cfg config, logger *log.Logger) int {
	syscall.Umask(0o022)
	s := newSyncer(cfg, logger)
	failures := 0
	for {
		syncCtx, cancel := context.WithTimeout(ctx, cfg.SyncTimeout)
		hash, changed, err := s.syncOnce(syncCtx)
		cancel()
		reapOrphans()
		if ctx.Err() != nil {
			logger.Printf("shutting down: %v", context.Cause(ctx))
			return 0
		}
		if err != nil {
			failures++
			logger.Printf("sync failed (%d consecutive): %v", failures, err)
			if cfg.MaxFailures >= 0 && failures > cfg.MaxFailures {
				logger.Printf("too many failures (max-failures=%d), aborting", cfg.MaxFailures)
				return 1
			}
		} else {
			failures = 0
			if !changed && !s.reportedCurrent { // once, so a restart shows what it kept
				s.reportedCurrent = true
				logger.Printf("already up to date ref=%s hash=%s", cfg.Ref, hash)
			}
			if cfg.OneTime {
				return 0
			}
		}
		t := time.NewTimer(cfg.Period)
		select {
		case <-ctx.Done():
			t.Stop()
			logger.Printf("shutting down: %v", context.Cause(ctx))
			return 0
		case <-t.C:
		}
	}
}

// reapOrphans collects exited processes re-parented to us when we run as PID 1 of a
// container (git helpers whose parent was killed by a timeout). It only runs between
// passes, when none of our own git children is outstanding, so it never steals their status.
func reapOrphans() {
	if os.Getpid() != 1 {
		return
	}
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
	}
}
