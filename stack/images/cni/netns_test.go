package main

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/coreos/go-iptables/iptables"
	"github.com/vishvananda/netlink"
)

// TestNetNS exercises the parts that touch the kernel (routes, MTU lookup, iptables)
// against a real network stack. It changes the network namespace it runs in, so it only
// runs when asked to, as root, in a throw-away namespace:
//
//	unshare --net env AIRWAVE_CNI_NETNS_TEST=1 go test -run NetNS -v .
func TestNetNS(t *testing.T) {
	if os.Getenv("AIRWAVE_CNI_NETNS_TEST") != "1" || os.Geteuid() != 0 {
		t.Skip("set AIRWAVE_CNI_NETNS_TEST=1 and run as root inside `unshare --net`")
	}
	// A stand-in for the node's eth0 on the kind docker network (a veth: kernels without
	// the dummy driver have it, as docker needs it).
	la := netlink.NewLinkAttrs()
	la.Name, la.MTU = "eth0", 1450
	eth0 := &netlink.Veth{LinkAttrs: la, PeerName: "peer0"}
	if err := netlink.LinkAdd(eth0); err != nil {
		t.Fatal(err)
	}
	addr, _ := netlink.ParseAddr("172.18.0.2/16")
	if err := netlink.AddrAdd(eth0, addr); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"eth0", "peer0"} {
		l, err := netlink.LinkByName(name)
		if err == nil {
			err = netlink.LinkSetUp(l)
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	if mtu := linkMTU(net.ParseIP("172.18.0.2")); mtu != 1450 {
		t.Errorf("linkMTU = %d, want 1450", mtu)
	}
	if mtu := linkMTU(net.ParseIP("192.0.2.1")); mtu != 0 {
		t.Errorf("linkMTU(unknown) = %d, want 0", mtu)
	}

	installed := map[string]string{}
	want := map[string]string{"10.244.1.0/24": "172.18.0.3", "10.244.2.0/24": "172.18.0.4"}
	if err := syncRoutes(installed, want); err != nil {
		t.Fatal(err)
	}
	if got := ipRoutes(t); !strings.Contains(got, "10.244.1.0/24 via 172.18.0.3 dev eth0") || !strings.Contains(got, "10.244.2.0/24 via 172.18.0.4 dev eth0") {
		t.Errorf("routes after add:\n%s", got)
	}
	// A route deleted behind our back comes back at the next pass.
	if err := exec.Command("ip", "route", "del", "10.244.1.0/24").Run(); err != nil {
		t.Fatal(err)
	}
	// Node w2 deleted, w1 moved to a new IP.
	want = map[string]string{"10.244.1.0/24": "172.18.0.9"}
	if err := syncRoutes(installed, want); err != nil {
		t.Fatal(err)
	}
	got := ipRoutes(t)
	if !strings.Contains(got, "10.244.1.0/24 via 172.18.0.9 dev eth0") || strings.Contains(got, "10.244.2.0/24") {
		t.Errorf("routes after update:\n%s", got)
	}
	if len(installed) != 1 {
		t.Errorf("installed = %v", installed)
	}
	// An unreachable gateway is an error, not a crash.
	if err := syncRoutes(installed, map[string]string{"10.244.5.0/24": "192.0.2.1"}); err == nil {
		t.Error("unreachable gateway: no error")
	}

	_, subnet, _ := net.ParseCIDR("10.244.0.0/16")
	m, err := newMasquerader(iptables.ProtocolIPv4, []*net.IPNet{subnet})
	if err != nil {
		t.Fatal(err)
	}
	for i, wantChanged := range []bool{true, false} {
		changed, err := m.ensure()
		if err != nil || changed != wantChanged {
			t.Fatalf("ensure #%d: changed=%v err=%v", i+1, changed, err)
		}
	}
	out, _ := exec.Command("iptables", "-t", "nat", "-S").CombinedOutput()
	t.Logf("iptables -t nat -S:\n%s", out)
	for _, line := range []string{
		"-A POSTROUTING -m comment --comment \"" + masqComment + "\" -j AIRWAVE-MASQ",
		"-A AIRWAVE-MASQ -d 10.244.0.0/16 -j RETURN",
		"-A AIRWAVE-MASQ -s 10.244.0.0/16 -j MASQUERADE",
	} {
		if !strings.Contains(string(out), line) {
			t.Errorf("missing %q", line)
		}
	}
	// A foreign rule in our chain and a flushed POSTROUTING are repaired.
	if err := m.ipt.Insert("nat", masqChain, 1, "-j", "ACCEPT"); err != nil {
		t.Fatal(err)
	}
	if err := m.ipt.ClearChain("nat", "POSTROUTING"); err != nil {
		t.Fatal(err)
	}
	if changed, err := m.ensure(); err != nil || !changed {
		t.Fatalf("repair: changed=%v err=%v", changed, err)
	}
	if ok, err := m.chainMatches(); err != nil || !ok {
		t.Errorf("after repair: match=%v err=%v", ok, err)
	}
	if changed, err := m.ensure(); err != nil || changed {
		t.Errorf("after repair, ensure: changed=%v err=%v", changed, err)
	}
}

func ipRoutes(t *testing.T) string {
	out, err := exec.Command("ip", "route").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
