package main

import (
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseConfigFromEnv(t *testing.T) {
	// What stack/airflow/dag-processor.yaml passes, plus variables we do not implement.
	env := []string{
		"PATH=/usr/bin",
		"GITSYNC_REPO=http://git-server.example/dags.git",
		"GITSYNC_REF=main",
		"GITSYNC_ROOT=/git",
		"GITSYNC_LINK=repo",
		"GITSYNC_DEPTH=1",
		"GITSYNC_PERIOD=2s",
		"GITSYNC_MAX_FAILURES=-1",
		"GITSYNC_WEBHOOK_URL=http://x",
		"GIT_SYNC_BRANCH=main",
	}
	cfg, ignored, err := parseConfig(nil, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := config{
		Repo: "http://git-server.example/dags.git", Ref: "main", Root: "/git", Link: "repo",
		Depth: 1, Period: 2 * time.Second, MaxFailures: -1, OneTime: false,
		SyncTimeout: 120 * time.Second, Git: "git",
	}
	if cfg != want {
		t.Fatalf("config\n got %+v\nwant %+v", cfg, want)
	}
	if !reflect.DeepEqual(ignored, []string{"GITSYNC_WEBHOOK_URL", "GIT_SYNC_BRANCH"}) {
		t.Fatalf("ignored = %v", ignored)
	}
	if cfg.linkPath() != "/git/repo" {
		t.Fatalf("linkPath = %s", cfg.linkPath())
	}
}

func TestParseConfigInitContainer(t *testing.T) {
	// stack/airflow/pod-template.yaml: one-time, no period, no max-failures (default 0).
	env := []string{"GITSYNC_REPO=http://h/dags.git", "GITSYNC_REF=main", "GITSYNC_ROOT=/git",
		"GITSYNC_LINK=repo", "GITSYNC_DEPTH=1", "GITSYNC_ONE_TIME=true"}
	cfg, ignored, err := parseConfig(nil, env, io.Discard)
	if err != nil || len(ignored) != 0 {
		t.Fatal(err, ignored)
	}
	if !cfg.OneTime || cfg.MaxFailures != 0 || cfg.Period != 10*time.Second {
		t.Fatalf("%+v", cfg)
	}
}

func TestFlagsOverrideEnv(t *testing.T) {
	env := []string{"GITSYNC_REPO=http://env/x.git", "GITSYNC_ROOT=/env", "GITSYNC_PERIOD=2s",
		"GITSYNC_ONE_TIME=true", "GITSYNC_MAX_FAILURES=3", "GITSYNC_DEPTH=1"}
	args := []string{"--repo", "file:///srv/dags.git", "--root=rel/root", "--period=1m30s",
		"--one-time=false", "--max-failures", "-1", "--depth=0", "--ref", "v1.2", "--link", "/abs/link"}
	cfg, _, err := parseConfig(args, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("rel/root")
	if cfg.Repo != "file:///srv/dags.git" || cfg.Root != abs || cfg.Period != 90*time.Second ||
		cfg.OneTime || cfg.MaxFailures != -1 || cfg.Depth != 0 || cfg.Ref != "v1.2" {
		t.Fatalf("%+v", cfg)
	}
	if cfg.linkPath() != "/abs/link" {
		t.Fatalf("linkPath = %s", cfg.linkPath())
	}
	// A bare boolean flag turns it on.
	cfg, _, err = parseConfig([]string{"--one-time"}, env[:2], io.Discard)
	if err != nil || !cfg.OneTime {
		t.Fatal(err, cfg)
	}
}

func TestParseConfigDefaults(t *testing.T) {
	cfg, _, err := parseConfig([]string{"--repo=https://example.com/org/dags.git/", "--root=/git"}, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Ref != "HEAD" || cfg.Depth != 1 || cfg.Period != 10*time.Second || cfg.MaxFailures != 0 ||
		cfg.OneTime || cfg.Link != "dags" || cfg.Git != "git" {
		t.Fatalf("%+v", cfg)
	}
}

func TestParseConfigErrors(t *testing.T) {
	base := []string{"GITSYNC_REPO=file:///r.git", "GITSYNC_ROOT=/git"}
	cases := []struct {
		env  []string
		args []string
		want string
	}{
		{env: []string{"GITSYNC_ROOT=/git"}, want: "GITSYNC_REPO is required"},
		{env: []string{"GITSYNC_REPO=file:///r.git"}, want: "GITSYNC_ROOT is required"},
		{env: append(base, "GITSYNC_PERIOD=2"), want: "not a Go duration"},    // no unit
		{env: append(base, "GITSYNC_PERIOD=soon"), want: "not a Go duration"}, // garbage
		{env: append(base, "GITSYNC_ONE_TIME=yes"), want: "not a boolean"},
		{env: append(base, "GITSYNC_DEPTH=one"), want: "not an integer"},
		{env: append(base, "GITSYNC_MAX_FAILURES=-2"), want: "max-failures must be >= -1"},
		{env: append(base, "GITSYNC_DEPTH=-1"), want: "depth must be >= 0"},
		{env: append(base, "GITSYNC_PERIOD=1ms"), want: "period must be at least 10ms"},
		{env: base, args: []string{"--period=3"}, want: "invalid value"},
		{env: base, args: []string{"--nope"}, want: "not defined"},
		{env: base, args: []string{"extra"}, want: "unexpected arguments"},
		{env: append(base, "GITSYNC_LINK=.git"), want: "not usable"},
	}
	for _, c := range cases {
		_, _, err := parseConfig(c.args, c.env, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("env %v args %v: err %v, want %q", c.env, c.args, err, c.want)
		}
	}
	// A tiny period is fine in one-time mode (it is never used).
	if _, _, err := parseConfig([]string{"--one-time", "--period=0s"}, base, io.Discard); err != nil {
		t.Error(err)
	}
	if _, _, err := parseConfig([]string{"--version"}, nil, io.Discard); !errors.Is(err, errVersion) {
		t.Errorf("--version: %v", err)
	}
}

func TestDefaultLink(t *testing.T) {
	for in, want := range map[string]string{
		"http://h/dags.git":     "dags",
		"http://h/a/b/":         "b",
		"git@host:org/repo.git": "repo",
		"/srv/git/dags.git":     "dags",
		"file:///srv/x":         "x",
	} {
		if got := defaultLink(in); got != want {
			t.Errorf("defaultLink(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPickRef(t *testing.T) {
	h := func(c byte) string { return strings.Repeat(string(c), 40) }
	out := h('a') + "\tHEAD\n" +
		h('b') + "\trefs/heads/main\n" +
		h('c') + "\trefs/remotes/origin/main\n" +
		h('d') + "\trefs/tags/v1\n" +
		h('e') + "\trefs/tags/v1^{}\n" +
		h('f') + "\trefs/heads/feature/x\n"
	for ref, want := range map[string]string{
		"HEAD": h('a'), "main": h('b'), "refs/heads/main": h('b'), "v1": h('e'),
		"refs/tags/v1": h('e'), "x": h('f'), "missing": "",
	} {
		if got := pickRef(out, ref); got != want {
			t.Errorf("pickRef(%q) = %q, want %q", ref, got, want)
		}
	}
}

func TestRedact(t *testing.T) {
	repo := "https://user:s3cret@h/dags.git"
	if got := redact("git ls-remote "+repo, repo); strings.Contains(got, "s3cret") {
		t.Fatal(got)
	}
}
