package main

import (
	"net"
	"reflect"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfig(t *testing.T) {
	c, err := loadConfig(env(map[string]string{"NODE_NAME": "w1", "POD_SUBNET": "10.244.0.0/16"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.nodeName != "w1" || c.confDir != "/etc/cni/net.d" || c.mtu != 0 || subnetsString(c.podSubnets) != "10.244.0.0/16" {
		t.Errorf("config %+v", c)
	}
	c, err = loadConfig(env(map[string]string{
		"NODE_NAME": "w1", "POD_SUBNET": "10.244.0.0/16, fd00:10:244::/56",
		"CNI_CONFIG_DIR": "/tmp/x", "CNI_MTU": "1400",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.confDir != "/tmp/x" || c.mtu != 1400 || subnetsString(c.podSubnets) != "10.244.0.0/16,fd00:10:244::/56" {
		t.Errorf("config %+v", c)
	}
	for _, bad := range []map[string]string{
		{"POD_SUBNET": "10.244.0.0/16"},
		{"NODE_NAME": "w1"},
		{"NODE_NAME": "w1", "POD_SUBNET": "{{ .PodSubnet }}"},
		{"NODE_NAME": "w1", "POD_SUBNET": "10.244.0.0/16", "CNI_MTU": "big"},
	} {
		if _, err := loadConfig(env(bad)); err == nil {
			t.Errorf("loadConfig(%v): no error", bad)
		}
	}
}

func TestMasqRules(t *testing.T) {
	_, a, _ := net.ParseCIDR("10.244.0.0/16")
	got := masqRules([]*net.IPNet{a})
	want := [][]string{
		{"-d", "10.244.0.0/16", "-j", "RETURN"},
		{"-s", "10.244.0.0/16", "-j", "MASQUERADE"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("masqRules = %v", got)
	}
}
