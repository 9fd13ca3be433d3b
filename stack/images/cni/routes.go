package main

import (
	"errors"
	"fmt"
	"log"
	"net"
	"sort"
	"syscall"

	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
)

// podCIDRs returns a node's pod CIDRs. spec.podCIDRs is the list (dual-stack aware);
// spec.podCIDR is the older single field, kept for nodes that only have that.
func podCIDRs(n *corev1.Node) []string {
	if len(n.Spec.PodCIDRs) > 0 {
		return n.Spec.PodCIDRs
	}
	if n.Spec.PodCIDR != "" {
		return []string{n.Spec.PodCIDR}
	}
	return nil
}

// internalIPs returns a node's InternalIP addresses (at most one per family is used).
func internalIPs(n *corev1.Node) []net.IP {
	var ips []net.IP
	for _, a := range n.Status.Addresses {
		if a.Type != corev1.NodeInternalIP {
			continue
		}
		if ip := net.ParseIP(a.Address); ip != nil {
			ips = append(ips, ip)
		}
	}
	return ips
}

// desiredRoutes maps each pod CIDR of every node except self to that node's InternalIP
// of the same family: the kind nodes share one docker network, so the other node is a
// directly reachable next hop and plain routes are all the "overlay" we need. Nodes
// without a pod CIDR or a matching InternalIP yet are skipped until they have both.
func desiredRoutes(nodes []*corev1.Node, self string) map[string]string {
	want := map[string]string{}
	for _, n := range nodes {
		if n.Name == self {
			continue
		}
		ips := internalIPs(n)
		for _, c := range podCIDRs(n) {
			_, cidr, err := net.ParseCIDR(c)
			if err != nil {
				continue
			}
			for _, ip := range ips {
				if (ip.To4() != nil) == (cidr.IP.To4() != nil) {
					want[cidr.String()] = ip.String()
					break
				}
			}
		}
	}
	return want
}

// diffRoutes compares the routes we installed (have) with the ones we want (cidr ->
// gateway). changed: CIDRs that are new or whose gateway moved; stale: CIDRs we installed
// that no node claims any more (node deleted). Both sorted, for stable logs.
func diffRoutes(have, want map[string]string) (changed, stale []string) {
	for cidr, gw := range want {
		if have[cidr] != gw {
			changed = append(changed, cidr)
		}
	}
	for cidr := range have {
		if _, ok := want[cidr]; !ok {
			stale = append(stale, cidr)
		}
	}
	sort.Strings(changed)
	sort.Strings(stale)
	return changed, stale
}

// syncRoutes makes the kernel's main table match want and updates installed (the routes
// this process added). Every wanted route is replaced on every pass, not only changed
// ones, so a route someone deleted by hand comes back at the next resync. Routes are only
// logged when they change.
func syncRoutes(installed, want map[string]string) error {
	changed, stale := diffRoutes(installed, want)
	isChanged := map[string]bool{}
	for _, c := range changed {
		isChanged[c] = true
	}
	cidrs := make([]string, 0, len(want))
	for cidr := range want {
		cidrs = append(cidrs, cidr)
	}
	sort.Strings(cidrs)
	var errs []error
	for _, cidr := range cidrs {
		gw := want[cidr]
		r, err := route(cidr, gw)
		if err == nil {
			err = netlink.RouteReplace(r)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("route replace %s via %s: %w", cidr, gw, err))
			continue
		}
		if isChanged[cidr] {
			log.Printf("route replace %s via %s", cidr, gw)
		}
		installed[cidr] = gw
	}
	for _, cidr := range stale {
		r, err := route(cidr, installed[cidr])
		if err == nil {
			err = netlink.RouteDel(r)
			if errors.Is(err, syscall.ESRCH) {
				err = nil // already gone
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("route del %s: %w", cidr, err))
			continue
		}
		log.Printf("route del %s via %s (node gone)", cidr, installed[cidr])
		delete(installed, cidr)
	}
	return errors.Join(errs...)
}

func route(cidr, gw string) (*netlink.Route, error) {
	_, dst, err := net.ParseCIDR(cidr)
	if err != nil {
		return nil, err
	}
	ip := net.ParseIP(gw)
	if ip == nil {
		return nil, fmt.Errorf("bad gateway %q", gw)
	}
	// No output device: the kernel picks it from the gateway, like `ip route replace
	// <cidr> via <gw>`.
	return &netlink.Route{Dst: dst, Gw: ip}, nil
}

// linkMTU returns the MTU of the interface that holds ip, or 0 if none does.
func linkMTU(ip net.IP) int {
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return 0
	}
	for _, a := range addrs {
		if a.IP.Equal(ip) {
			if l, err := netlink.LinkByIndex(a.LinkIndex); err == nil {
				return l.Attrs().MTU
			}
		}
	}
	return 0
}
