package main

import (
	"fmt"
	"net"
	"strings"

	"github.com/coreos/go-iptables/iptables"
)

const (
	masqChain   = "AIRWAVE-MASQ"
	masqComment = "airwave-cni: masquerade pod traffic leaving the pod network"
)

// masqRules is the content of the AIRWAVE-MASQ chain (nat table) for the pod subnets of
// one IP family. Order matters: pod-to-pod traffic (any node) returns untouched first, so
// pods on other nodes see the real source pod IP; whatever else comes from a pod leaves
// the pod network (the docker network, the outside) and is SNATed to the node's address,
// which is the only address the docker network can route back.
func masqRules(subnets []*net.IPNet) [][]string {
	var rules [][]string
	for _, s := range subnets {
		rules = append(rules, []string{"-d", s.String(), "-j", "RETURN"})
	}
	for _, s := range subnets {
		rules = append(rules, []string{"-s", s.String(), "-j", "MASQUERADE"})
	}
	return rules
}

// masquerader owns the AIRWAVE-MASQ chain of one IP family. go-iptables execs the
// iptables (or ip6tables) binary of the image.
type masquerader struct {
	ipt   *iptables.IPTables
	rules [][]string
}

func newMasquerader(proto iptables.Protocol, subnets []*net.IPNet) (*masquerader, error) {
	ipt, err := iptables.New(iptables.IPFamily(proto), iptables.Timeout(5))
	if err != nil {
		return nil, err
	}
	return &masquerader{ipt: ipt, rules: masqRules(subnets)}, nil
}

// ensure creates the chain and the POSTROUTING jump if missing and rewrites the chain
// if its rules differ from ours. It is idempotent and cheap when nothing changed (a few
// `iptables -C` calls), so it runs on every resync and repairs rules flushed by others.
// It reports whether it changed anything.
func (m *masquerader) ensure() (bool, error) {
	changed := false
	exists, err := m.ipt.ChainExists("nat", masqChain)
	if err != nil {
		return false, err
	}
	if !exists {
		if err := m.ipt.NewChain("nat", masqChain); err != nil {
			return false, err
		}
		changed = true
	}
	ok, err := m.chainMatches()
	if err != nil {
		return changed, err
	}
	if !ok {
		// ClearChain flushes an existing chain; the rules are re-added at once.
		if err := m.ipt.ClearChain("nat", masqChain); err != nil {
			return changed, err
		}
		for _, r := range m.rules {
			if err := m.ipt.Append("nat", masqChain, r...); err != nil {
				return true, fmt.Errorf("append %s %s: %w", masqChain, strings.Join(r, " "), err)
			}
		}
		changed = true
	}
	jump := []string{"-m", "comment", "--comment", masqComment, "-j", masqChain}
	has, err := m.ipt.Exists("nat", "POSTROUTING", jump...)
	if err != nil {
		return changed, err
	}
	if !has {
		if err := m.ipt.Append("nat", "POSTROUTING", jump...); err != nil {
			return changed, err
		}
		changed = true
	}
	return changed, nil
}

// chainMatches reports whether the chain holds exactly our rules, in order. Our rule
// specs are already in the canonical form `iptables -S` prints (normalized CIDRs, no
// abbreviations), so the listing is compared line by line.
func (m *masquerader) chainMatches() (bool, error) {
	listed, err := m.ipt.List("nat", masqChain)
	if err != nil {
		return false, err
	}
	var got []string
	for _, l := range listed {
		if strings.HasPrefix(l, "-A ") {
			got = append(got, l)
		}
	}
	if len(got) != len(m.rules) {
		return false, nil
	}
	for i, r := range m.rules {
		if got[i] != "-A "+masqChain+" "+strings.Join(r, " ") {
			return false, nil
		}
	}
	return true, nil
}
