// etcd for the render-and-admit tests: etcd's own main module has replace directives (no `go install`),
// so this is its entry point, built from the server module pinned in ../go.mod.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
