// Command airwave-cni is the node network daemon of airwave's offline kind node image, a
// small stand-in for kind's kindnetd (whose image we cannot pull). It runs on every node
// as a hostNetwork, privileged DaemonSet pod and does three things:
//
//   - writes /etc/cni/net.d/10-airwave.conflist (ptp + host-local on this node's
//     spec.podCIDR, then portmap) once the controller manager has assigned the CIDR;
//     containerd picks it up and the node turns Ready;
//   - routes every other node's pod CIDR via that node's InternalIP (all kind nodes sit
//     on one docker network, so no tunnel is needed);
//   - masquerades traffic from the pod subnet to anywhere outside it, so pods reach the
//     docker network and beyond, while pod-to-pod traffic keeps its source IP.
//
// Environment: NODE_NAME and POD_SUBNET (required), CNI_CONFIG_DIR (default
// /etc/cni/net.d), CNI_MTU (default: the MTU of the interface holding the node's
// InternalIP, else 1500), CONTROL_PLANE_ENDPOINT (optional, set by kind).
//
// It watches Nodes with a client-go informer and also re-applies everything every
// resync period, which repairs state changed behind its back. Failures that persist are
// fatal (exit 1), so the kubelet restarts the pod and the problem shows as a crash loop.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-iptables/iptables"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

const (
	resyncPeriod = 30 * time.Second
	// cacheSyncTimeout bounds the wait for the first Node list: if the API server stays
	// unreachable that long, exiting lets the kubelet's back-off (and the pod status)
	// show it.
	cacheSyncTimeout = 2 * time.Minute
	// maxFailingFor: passes that keep failing for this long are treated as fatal rather
	// than retried forever with the node half set up.
	maxFailingFor = 5 * time.Minute
)

type config struct {
	nodeName   string
	podSubnets []*net.IPNet // POD_SUBNET, comma-separated (kind renders dual-stack that way)
	confDir    string
	mtu        int // 0: take the MTU of the interface holding the node's InternalIP
}

// loadConfig reads the environment through getenv (os.Getenv outside tests).
func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		nodeName: getenv("NODE_NAME"),
		confDir:  getenv("CNI_CONFIG_DIR"),
	}
	if c.nodeName == "" {
		return c, errors.New("NODE_NAME is not set (the manifest sets it from spec.nodeName)")
	}
	if c.confDir == "" {
		c.confDir = "/etc/cni/net.d"
	}
	raw := getenv("POD_SUBNET")
	if raw == "" {
		return c, errors.New("POD_SUBNET is not set (kind renders it into the manifest)")
	}
	for _, s := range strings.Split(raw, ",") {
		_, n, err := net.ParseCIDR(strings.TrimSpace(s))
		if err != nil {
			return c, fmt.Errorf("POD_SUBNET %q: %w", raw, err)
		}
		c.podSubnets = append(c.podSubnets, n)
	}
	if v := getenv("CNI_MTU"); v != "" {
		mtu, err := strconv.Atoi(v)
		if err != nil || mtu < 576 || mtu > 65535 {
			return c, fmt.Errorf("CNI_MTU %q: want an integer in 576..65535", v)
		}
		c.mtu = mtu
	}
	return c, nil
}

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		log.Fatalf("config: %v", err)
	}
	// SIGTERM (pod deletion, rolling update) is a clean exit. Routes, rules and the
	// conflist stay in place, so running pods keep their network until the next daemon
	// takes over.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		log.Printf("fatal: %v", err)
		os.Exit(1)
	}
	log.Printf("stopping on signal")
}

type daemon struct {
	cfg         config
	nodes       cache.Store
	masq        []*masquerader
	routes      map[string]string // pod CIDR -> gateway, the routes this process installed
	lastWaiting string            // last "waiting for ..." message, logged once
}

func run(ctx context.Context, cfg config) error {
	restCfg, err := rest.InClusterConfig()
	if err != nil {
		return fmt.Errorf("in-cluster config: %w", err)
	}
	restCfg.UserAgent = "airwave-cni"
	// kind patches CONTROL_PLANE_ENDPOINT (host:port of the API server on the docker
	// network) into the manifest. Talking to it directly, rather than through the
	// kubernetes Service IP, means no dependency on kube-proxy having programmed that
	// Service yet. The in-cluster CA and token still apply: the API server certificate
	// names the control-plane endpoint.
	if ep := os.Getenv("CONTROL_PLANE_ENDPOINT"); ep != "" {
		restCfg.Host = "https://" + ep
	}
	// Only the core/v1 client: Nodes are all we read.
	client, err := corev1client.NewForConfig(restCfg)
	if err != nil {
		return err
	}

	d := &daemon{cfg: cfg, routes: map[string]string{}}
	var v4, v6 []*net.IPNet
	for _, s := range cfg.podSubnets {
		if s.IP.To4() != nil {
			v4 = append(v4, s)
		} else {
			v6 = append(v6, s)
		}
	}
	for _, fam := range []struct {
		proto   iptables.Protocol
		subnets []*net.IPNet
	}{{iptables.ProtocolIPv4, v4}, {iptables.ProtocolIPv6, v6}} {
		if len(fam.subnets) == 0 {
			continue // e.g. no ip6tables needed on a single-stack IPv4 cluster
		}
		m, err := newMasquerader(fam.proto, fam.subnets)
		if err != nil {
			return fmt.Errorf("iptables: %w", err)
		}
		d.masq = append(d.masq, m)
	}

	lw := cache.NewListWatchFromClient(client.RESTClient(), "nodes", "", fields.Everything())
	informer := cache.NewSharedIndexInformer(lw, &corev1.Node{}, 0, cache.Indexers{})
	// Events only wake the loop below; one pass always looks at the whole Node list, so
	// a burst of events collapses into one pass.
	wake := make(chan struct{}, 1)
	poke := func(any) {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    poke,
		UpdateFunc: func(_, n any) { poke(n) },
		DeleteFunc: poke,
	}); err != nil {
		return err
	}
	d.nodes = informer.GetStore()
	go informer.RunWithContext(ctx)

	syncCtx, cancel := context.WithTimeout(ctx, cacheSyncTimeout)
	synced := cache.WaitForCacheSync(syncCtx.Done(), informer.HasSynced)
	cancel()
	if ctx.Err() != nil {
		return nil
	}
	if !synced {
		return fmt.Errorf("no Node list from the API server within %s", cacheSyncTimeout)
	}
	log.Printf("started: node %s, pod subnet %s, CNI config dir %s, API server %s", cfg.nodeName, subnetsString(cfg.podSubnets), cfg.confDir, restCfg.Host)

	ticker := time.NewTicker(resyncPeriod)
	defer ticker.Stop()
	var failingSince time.Time // zero while passes succeed
	for {
		if err := d.reconcile(); err != nil {
			if failingSince.IsZero() {
				failingSince = time.Now()
			}
			log.Printf("sync failed (retrying, failing for %s): %v", time.Since(failingSince).Round(time.Second), err)
			if time.Since(failingSince) > maxFailingFor {
				return fmt.Errorf("still failing after %s: %w", maxFailingFor, err)
			}
		} else {
			failingSince = time.Time{}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-ticker.C:
		}
	}
}

// reconcile is one full pass: CNI config for this node, routes to the others, masquerade.
// It carries on past a failing step so one problem does not block the rest.
func (d *daemon) reconcile() error {
	var nodes []*corev1.Node
	var self *corev1.Node
	for _, o := range d.nodes.List() {
		n, ok := o.(*corev1.Node)
		if !ok {
			continue
		}
		nodes = append(nodes, n)
		if n.Name == d.cfg.nodeName {
			self = n
		}
	}
	var errs []error
	if err := d.syncConflist(self); err != nil {
		errs = append(errs, fmt.Errorf("CNI config: %w", err))
	}
	if err := syncRoutes(d.routes, desiredRoutes(nodes, d.cfg.nodeName)); err != nil {
		errs = append(errs, err)
	}
	for _, m := range d.masq {
		changed, err := m.ensure()
		if err != nil {
			errs = append(errs, fmt.Errorf("masquerade (%s): %w", protoName(m.ipt.Proto()), err))
		} else if changed {
			log.Printf("masquerade (%s): chain %s set: pod subnet to pod subnet untouched, pod subnet to elsewhere SNATed", protoName(m.ipt.Proto()), masqChain)
		}
	}
	return errors.Join(errs...)
}

// syncConflist writes this node's CNI config once the node has a pod CIDR. Before that
// (node not registered yet, CIDR not allocated yet) it waits; that is not an error.
func (d *daemon) syncConflist(self *corev1.Node) error {
	if self == nil {
		d.waiting(fmt.Sprintf("waiting for node %s to appear", d.cfg.nodeName))
		return nil
	}
	cidrs := podCIDRs(self)
	if len(cidrs) == 0 {
		d.waiting(fmt.Sprintf("waiting for node %s to get a pod CIDR", d.cfg.nodeName))
		return nil
	}
	d.lastWaiting = ""
	mtu := d.cfg.mtu
	if mtu == 0 {
		for _, ip := range internalIPs(self) {
			if mtu = linkMTU(ip); mtu > 0 {
				break
			}
		}
	}
	if mtu == 0 {
		mtu = 1500
	}
	data, err := conflistJSON(cidrs, mtu)
	if err != nil {
		return err
	}
	changed, err := writeIfChanged(d.cfg.confDir, confFileName, data)
	if err != nil {
		return err
	}
	if changed {
		log.Printf("wrote %s/%s: pod CIDR %s, MTU %d", d.cfg.confDir, confFileName, strings.Join(cidrs, ","), mtu)
	}
	return nil
}

func (d *daemon) waiting(msg string) {
	if msg != d.lastWaiting {
		log.Print(msg)
		d.lastWaiting = msg
	}
}

func subnetsString(s []*net.IPNet) string {
	parts := make([]string, len(s))
	for i, n := range s {
		parts[i] = n.String()
	}
	return strings.Join(parts, ",")
}

func protoName(p iptables.Protocol) string {
	if p == iptables.ProtocolIPv6 {
		return "ip6tables"
	}
	return "iptables"
}
