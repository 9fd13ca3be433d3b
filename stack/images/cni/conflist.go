package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// confFileName sorts before anything else we expect in /etc/cni/net.d: containerd uses
// the lexically first config file it finds.
const confFileName = "10-airwave.conflist"

// ipamDataDir keeps host-local's IP reservations on /run (a tmpfs in a kind node), so a
// restarted node container starts with a clean pool instead of leases held by pods that
// no longer exist. host-local's default (/var/lib/cni/networks) lives on the node's
// persistent /var volume.
const ipamDataDir = "/run/cni-ipam-state"

type conflist struct {
	CNIVersion string `json:"cniVersion"`
	Name       string `json:"name"`
	Plugins    []any  `json:"plugins"`
}

type ptpPlugin struct {
	Type string `json:"type"`
	// The daemon masquerades for the whole pod subnet itself (masq.go); ptp's own ipMasq
	// would add one rule per pod and masquerade pod-to-pod traffic too.
	IPMasq bool     `json:"ipMasq"`
	MTU    int      `json:"mtu"`
	IPAM   ipamConf `json:"ipam"`
}

type ipamConf struct {
	Type    string         `json:"type"`
	DataDir string         `json:"dataDir"`
	Ranges  [][]ipamRange  `json:"ranges"`
	Routes  []ipamRouteDst `json:"routes"`
}

type ipamRange struct {
	Subnet string `json:"subnet"`
}

type ipamRouteDst struct {
	Dst string `json:"dst"`
}

type portmapPlugin struct {
	Type         string          `json:"type"`
	Capabilities map[string]bool `json:"capabilities"`
}

// conflistJSON renders the CNI config for a node whose pod CIDRs are podCIDRs (one per IP
// family; a single-stack cluster has one). Each CIDR becomes its own host-local range set,
// so a dual-stack pod gets one address of each family, and each family gets a default route.
func conflistJSON(podCIDRs []string, mtu int) ([]byte, error) {
	if len(podCIDRs) == 0 {
		return nil, fmt.Errorf("no pod CIDR")
	}
	if mtu < 576 || mtu > 65535 {
		return nil, fmt.Errorf("MTU %d out of range", mtu)
	}
	ipam := ipamConf{Type: "host-local", DataDir: ipamDataDir}
	families := map[bool]bool{}
	for _, c := range podCIDRs {
		_, n, err := net.ParseCIDR(c)
		if err != nil {
			return nil, fmt.Errorf("pod CIDR %q: %w", c, err)
		}
		isV4 := n.IP.To4() != nil
		if families[isV4] {
			return nil, fmt.Errorf("pod CIDRs %v: more than one per IP family", podCIDRs)
		}
		families[isV4] = true
		ipam.Ranges = append(ipam.Ranges, []ipamRange{{Subnet: n.String()}})
		if isV4 {
			ipam.Routes = append(ipam.Routes, ipamRouteDst{Dst: "0.0.0.0/0"})
		} else {
			ipam.Routes = append(ipam.Routes, ipamRouteDst{Dst: "::/0"})
		}
	}
	cl := conflist{
		CNIVersion: "1.0.0",
		Name:       "airwave",
		Plugins: []any{
			ptpPlugin{Type: "ptp", IPMasq: false, MTU: mtu, IPAM: ipam},
			// hostPort support for pods.
			portmapPlugin{Type: "portmap", Capabilities: map[string]bool{"portMappings": true}},
		},
	}
	b, err := json.MarshalIndent(cl, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// writeIfChanged writes data to dir/name unless the file already holds exactly that. The
// write goes to a temporary file in the same directory and is renamed into place, so
// containerd, which watches the directory, never reads a half-written config. The
// temporary name does not end in .conf/.conflist/.json, so containerd ignores it.
func writeIfChanged(dir, name string, data []byte) (bool, error) {
	path := filepath.Join(dir, name)
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	tmp, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return false, err
	}
	return true, nil
}
