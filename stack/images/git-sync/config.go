package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// config is what one git-sync process does. Every field has a GITSYNC_* env var and a
// --flag of the same name; a flag given on the command line wins over the env var.
type config struct {
	Repo        string        // GITSYNC_REPO / --repo (required)
	Ref         string        // GITSYNC_REF / --ref: branch, tag, "HEAD" or a full commit hash
	Root        string        // GITSYNC_ROOT / --root (required; made absolute)
	Link        string        // GITSYNC_LINK / --link: symlink name, relative to Root unless absolute
	Depth       int           // GITSYNC_DEPTH / --depth: 0 = full history
	Period      time.Duration // GITSYNC_PERIOD / --period
	MaxFailures int           // GITSYNC_MAX_FAILURES / --max-failures: -1 = retry forever
	OneTime     bool          // GITSYNC_ONE_TIME / --one-time
	SyncTimeout time.Duration // GITSYNC_SYNC_TIMEOUT / --sync-timeout: limit for one sync pass
	Git         string        // GITSYNC_GIT / --git: the git binary
}

// implementedEnv lists the GITSYNC_* variables this stand-in honours; any other GITSYNC_*
// (or v3-style GIT_SYNC_*) variable is reported as ignored.
var implementedEnv = map[string]bool{
	"GITSYNC_REPO": true, "GITSYNC_REF": true, "GITSYNC_ROOT": true, "GITSYNC_LINK": true,
	"GITSYNC_DEPTH": true, "GITSYNC_PERIOD": true, "GITSYNC_MAX_FAILURES": true,
	"GITSYNC_ONE_TIME": true, "GITSYNC_SYNC_TIMEOUT": true, "GITSYNC_GIT": true,
}

// errVersion is returned by parseConfig for --version.
var errVersion = errors.New("version requested")

// parseConfig builds the config from environ (os.Environ() form, GITSYNC_* variables) and
// args (flags, without the program name). It also returns the names of the set GITSYNC_*
// (and v3-style GIT_SYNC_*) variables it does not implement and so ignores.
func parseConfig(args, environ []string, usage io.Writer) (config, []string, error) {
	cfg := config{
		Ref:         "HEAD",
		Depth:       1,
		Period:      10 * time.Second,
		MaxFailures: 0,
		SyncTimeout: 120 * time.Second,
		Git:         "git",
	}
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	lookupEnv := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	var ignored []string
	for name := range env {
		if (strings.HasPrefix(name, "GITSYNC_") && !implementedEnv[name]) || strings.HasPrefix(name, "GIT_SYNC_") {
			ignored = append(ignored, name)
		}
	}
	sort.Strings(ignored)

	// Defaults from the environment; malformed values are errors, as in git-sync.
	str := func(name string, dst *string) {
		if v, ok := lookupEnv(name); ok {
			*dst = v
		}
	}
	var errs []error
	integer := func(name string, dst *int) {
		if v, ok := lookupEnv(name); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				errs = append(errs, fmt.Errorf("env %s=%q: not an integer", name, v))
				return
			}
			*dst = n
		}
	}
	boolean := func(name string, dst *bool) {
		if v, ok := lookupEnv(name); ok {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				errs = append(errs, fmt.Errorf("env %s=%q: not a boolean", name, v))
				return
			}
			*dst = b
		}
	}
	duration := func(name string, dst *time.Duration) {
		if v, ok := lookupEnv(name); ok {
			d, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil {
				errs = append(errs, fmt.Errorf("env %s=%q: not a Go duration (e.g. \"2s\")", name, v))
				return
			}
			*dst = d
		}
	}
	str("GITSYNC_REPO", &cfg.Repo)
	str("GITSYNC_REF", &cfg.Ref)
	str("GITSYNC_ROOT", &cfg.Root)
	str("GITSYNC_LINK", &cfg.Link)
	integer("GITSYNC_DEPTH", &cfg.Depth)
	duration("GITSYNC_PERIOD", &cfg.Period)
	integer("GITSYNC_MAX_FAILURES", &cfg.MaxFailures)
	boolean("GITSYNC_ONE_TIME", &cfg.OneTime)
	duration("GITSYNC_SYNC_TIMEOUT", &cfg.SyncTimeout)
	str("GITSYNC_GIT", &cfg.Git)
	if len(errs) > 0 {
		return cfg, ignored, errors.Join(errs...)
	}

	fs := flag.NewFlagSet("git-sync", flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.StringVar(&cfg.Repo, "repo", cfg.Repo, "the git repository to sync (required) [$GITSYNC_REPO]")
	fs.StringVar(&cfg.Ref, "ref", cfg.Ref, "the branch, tag, HEAD or commit hash to sync [$GITSYNC_REF]")
	fs.StringVar(&cfg.Root, "root", cfg.Root, "the directory git-sync owns (required) [$GITSYNC_ROOT]")
	fs.StringVar(&cfg.Link, "link", cfg.Link, "the symlink to the synced tree, relative to --root (default: leaf of --repo) [$GITSYNC_LINK]")
	fs.IntVar(&cfg.Depth, "depth", cfg.Depth, "commits of history to fetch, 0 = all [$GITSYNC_DEPTH]")
	fs.DurationVar(&cfg.Period, "period", cfg.Period, "time between syncs [$GITSYNC_PERIOD]")
	fs.IntVar(&cfg.MaxFailures, "max-failures", cfg.MaxFailures, "consecutive failures allowed before exiting, -1 = retry forever [$GITSYNC_MAX_FAILURES]")
	fs.BoolVar(&cfg.OneTime, "one-time", cfg.OneTime, "sync once and exit [$GITSYNC_ONE_TIME]")
	fs.DurationVar(&cfg.SyncTimeout, "sync-timeout", cfg.SyncTimeout, "time limit for one sync [$GITSYNC_SYNC_TIMEOUT]")
	fs.StringVar(&cfg.Git, "git", cfg.Git, "the git binary [$GITSYNC_GIT]")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return cfg, ignored, err
	}
	if *showVersion {
		return cfg, ignored, errVersion
	}
	if fs.NArg() > 0 {
		return cfg, ignored, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	return cfg, ignored, cfg.finish()
}

// finish validates the config and fills in derived defaults.
func (c *config) finish() error {
	if c.Repo == "" {
		return errors.New("--repo or $GITSYNC_REPO is required")
	}
	if c.Root == "" {
		return errors.New("--root or $GITSYNC_ROOT is required")
	}
	root, err := filepath.Abs(c.Root)
	if err != nil {
		return fmt.Errorf("--root: %w", err)
	}
	c.Root = root
	if c.Ref == "" {
		c.Ref = "HEAD"
	}
	if c.Link == "" {
		c.Link = defaultLink(c.Repo)
	}
	if c.Link == "" || c.Link == "." || c.Link == ".." || strings.HasPrefix(c.Link, ".worktrees") || c.Link == ".git" {
		return fmt.Errorf("--link %q is not usable", c.Link)
	}
	if c.Depth < 0 {
		return fmt.Errorf("--depth must be >= 0, got %d", c.Depth)
	}
	if c.MaxFailures < -1 {
		return fmt.Errorf("--max-failures must be >= -1, got %d", c.MaxFailures)
	}
	if !c.OneTime && c.Period < 10*time.Millisecond {
		return fmt.Errorf("--period must be at least 10ms, got %v", c.Period)
	}
	if c.SyncTimeout < 10*time.Millisecond {
		return fmt.Errorf("--sync-timeout must be at least 10ms, got %v", c.SyncTimeout)
	}
	return nil
}

// linkPath is the absolute path of the published symlink.
func (c *config) linkPath() string {
	if filepath.IsAbs(c.Link) {
		return filepath.Clean(c.Link)
	}
	return filepath.Join(c.Root, c.Link)
}

// defaultLink is the leaf name of the repo URL or path, without ".git" (git-sync's default).
func defaultLink(repo string) string {
	r := strings.TrimRight(repo, "/")
	if i := strings.LastIndexAny(r, "/:"); i >= 0 {
		r = r[i+1:]
	}
	r = strings.TrimSuffix(path.Base(r), ".git")
	if r == "" || r == "." || r == "/" {
		return ""
	}
	return r
}
