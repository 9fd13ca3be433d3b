package main

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func node(name string, cidrs []string, ips ...string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	n.Spec.PodCIDRs = cidrs
	if len(cidrs) > 0 {
		n.Spec.PodCIDR = cidrs[0]
	}
	n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeHostName, Address: name})
	for _, ip := range ips {
		n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip})
	}
	return n
}

func TestDesiredRoutes(t *testing.T) {
	legacy := node("legacy", nil, "172.18.0.5")
	legacy.Spec.PodCIDR = "10.244.4.0/24" // only the old single field set
	nodes := []*corev1.Node{
		node("cp", []string{"10.244.0.0/24"}, "172.18.0.2"),
		node("w1", []string{"10.244.1.0/24"}, "172.18.0.3"),
		node("w2", []string{"10.244.2.0/24", "fd00:10:244:2::/64"}, "fc00:f853:ccd:e793::4", "172.18.0.4"),
		node("no-cidr-yet", nil, "172.18.0.6"),
		node("no-ip-yet", []string{"10.244.7.0/24"}),
		legacy,
	}
	got := desiredRoutes(nodes, "cp")
	want := map[string]string{
		"10.244.1.0/24":      "172.18.0.3",
		"10.244.2.0/24":      "172.18.0.4",
		"fd00:10:244:2::/64": "fc00:f853:ccd:e793::4",
		"10.244.4.0/24":      "172.18.0.5",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("desiredRoutes = %v, want %v", got, want)
	}
}

func TestDiffRoutes(t *testing.T) {
	have := map[string]string{
		"10.244.1.0/24": "172.18.0.3", // unchanged
		"10.244.2.0/24": "172.18.0.4", // node got a new IP
		"10.244.3.0/24": "172.18.0.9", // node deleted
	}
	want := map[string]string{
		"10.244.1.0/24": "172.18.0.3",
		"10.244.2.0/24": "172.18.0.8",
		"10.244.5.0/24": "172.18.0.5", // new node
	}
	changed, stale := diffRoutes(have, want)
	if !reflect.DeepEqual(changed, []string{"10.244.2.0/24", "10.244.5.0/24"}) {
		t.Errorf("changed = %v", changed)
	}
	if !reflect.DeepEqual(stale, []string{"10.244.3.0/24"}) {
		t.Errorf("stale = %v", stale)
	}
	changed, stale = diffRoutes(want, want)
	if changed != nil || stale != nil {
		t.Errorf("no-op diff: changed=%v stale=%v", changed, stale)
	}
}
