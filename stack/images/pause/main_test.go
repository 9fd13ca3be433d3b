package main

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as the pause program (PAUSE_TEST_MAIN=1), so the
// tests can run it as a child without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("PAUSE_TEST_MAIN") == "1" {
		os.Args = append([]string{"pause"}, strings.Fields(os.Getenv("PAUSE_TEST_ARGS"))...)
		main()
		return
	}
	os.Exit(m.Run())
}

func pauseCmd(args string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "PAUSE_TEST_MAIN=1", "PAUSE_TEST_ARGS="+args)
	return cmd
}

func TestVersion(t *testing.T) {
	out, err := pauseCmd("-v").Output()
	if err != nil || strings.TrimSpace(string(out)) != version {
		t.Fatalf("pause -v: %q, %v", out, err)
	}
}

func TestExitsZeroOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		cmd := pauseCmd("")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Still running after a moment: it sleeps rather than exits.
		time.Sleep(300 * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGCHLD); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatalf("%v: process already gone: %v", sig, err)
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("%v: exit %v, want 0", sig, err)
		}
	}
}

func TestReap(t *testing.T) {
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		t.Skip("no /bin/true:", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, pid := range reap() {
			if pid == p.Pid {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("child %d not reaped", p.Pid)
}
