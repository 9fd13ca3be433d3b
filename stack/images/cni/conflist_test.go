package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestConflistJSON(t *testing.T) {
	b, err := conflistJSON([]string{"10.244.1.0/24"}, 1450)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	want := map[string]any{
		"cniVersion": "1.0.0",
		"name":       "airwave",
		"plugins": []any{
			map[string]any{
				"type":   "ptp",
				"ipMasq": false,
				"mtu":    float64(1450),
				"ipam": map[string]any{
					"type":    "host-local",
					"dataDir": "/run/cni-ipam-state",
					"ranges":  []any{[]any{map[string]any{"subnet": "10.244.1.0/24"}}},
					"routes":  []any{map[string]any{"dst": "0.0.0.0/0"}},
				},
			},
			map[string]any{
				"type":         "portmap",
				"capabilities": map[string]any{"portMappings": true},
			},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("conflist:\n%s", b)
	}
	if b[len(b)-1] != '\n' {
		t.Error("no trailing newline")
	}
	again, _ := conflistJSON([]string{"10.244.1.0/24"}, 1450)
	if string(again) != string(b) {
		t.Error("output not deterministic")
	}
}

func TestConflistJSONDualStack(t *testing.T) {
	b, err := conflistJSON([]string{"10.244.1.0/24", "fd00:10:244:1::/64"}, 1500)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Plugins []struct {
			IPAM struct {
				Ranges [][]struct{ Subnet string }
				Routes []struct{ Dst string }
			}
		}
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	ipam := got.Plugins[0].IPAM
	if len(ipam.Ranges) != 2 || ipam.Ranges[0][0].Subnet != "10.244.1.0/24" || ipam.Ranges[1][0].Subnet != "fd00:10:244:1::/64" {
		t.Errorf("ranges: %+v", ipam.Ranges)
	}
	if len(ipam.Routes) != 2 || ipam.Routes[0].Dst != "0.0.0.0/0" || ipam.Routes[1].Dst != "::/0" {
		t.Errorf("routes: %+v", ipam.Routes)
	}
}

func TestConflistJSONErrors(t *testing.T) {
	for _, tc := range []struct {
		cidrs []string
		mtu   int
	}{
		{nil, 1500},
		{[]string{"10.244.1.0"}, 1500},
		{[]string{"10.244.1.0/24", "10.244.2.0/24"}, 1500},
		{[]string{"10.244.1.0/24"}, 0},
	} {
		if _, err := conflistJSON(tc.cidrs, tc.mtu); err == nil {
			t.Errorf("conflistJSON(%v, %d): no error", tc.cidrs, tc.mtu)
		}
	}
}

func TestConflistJSONNormalizesCIDR(t *testing.T) {
	b, err := conflistJSON([]string{"10.244.1.7/24"}, 1500)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Plugins []struct {
			IPAM struct{ Ranges [][]struct{ Subnet string } }
		}
	}
	_ = json.Unmarshal(b, &got)
	if s := got.Plugins[0].IPAM.Ranges[0][0].Subnet; s != "10.244.1.0/24" {
		t.Errorf("subnet %q", s)
	}
}

func TestWriteIfChanged(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "net.d") // created on demand
	changed, err := writeIfChanged(dir, confFileName, []byte("a\n"))
	if err != nil || !changed {
		t.Fatalf("first write: changed=%v err=%v", changed, err)
	}
	changed, err = writeIfChanged(dir, confFileName, []byte("a\n"))
	if err != nil || changed {
		t.Fatalf("same content: changed=%v err=%v", changed, err)
	}
	changed, err = writeIfChanged(dir, confFileName, []byte("b\n"))
	if err != nil || !changed {
		t.Fatalf("new content: changed=%v err=%v", changed, err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, confFileName))
	if string(got) != "b\n" {
		t.Errorf("content %q", got)
	}
	fi, _ := os.Stat(filepath.Join(dir, confFileName))
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", fi.Mode())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("leftover files: %v", entries)
	}
}
