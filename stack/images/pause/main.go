// Command pause is the pod sandbox process of airwave's offline kind node image (a
// stand-in for registry.k8s.io/pause). containerd starts it first in every pod; it only
// holds the pod's namespaces open. As PID 1 of the sandbox's PID namespace it must also
// reap orphaned children that get re-parented to it (with shareProcessNamespace), or they
// stay zombies. It exits 0 on SIGINT/SIGTERM and otherwise does nothing.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is printed by -v; override with -ldflags '-X main.version=...'.
var version = "airwave-pause v0.1.0"

func main() {
	if len(os.Args) > 1 {
		if len(os.Args) == 2 && os.Args[1] == "-v" {
			fmt.Println(version)
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "usage: pause [-v]")
		os.Exit(2)
	}
	if os.Getpid() != 1 {
		// Same as the upstream pause: fine for testing, but nothing gets reaped for others.
		fmt.Fprintln(os.Stderr, "Warning: pause should be the first process")
	}

	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	// Children may have exited before Notify took effect; their SIGCHLD is lost.
	reap()
	for s := range sigs {
		if s == syscall.SIGCHLD {
			reap()
			continue
		}
		fmt.Fprintf(os.Stderr, "Shutting down, got signal: %v\n", s)
		os.Exit(0)
	}
}

// reap collects every exited child without blocking and returns their PIDs. Signals
// coalesce (one SIGCHLD for several exits), hence the loop.
func reap() []int {
	var pids []int
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if pid <= 0 || err != nil { // 0: children left but none exited; ECHILD: no children
			return pids
		}
		pids = append(pids, pid)
	}
}
