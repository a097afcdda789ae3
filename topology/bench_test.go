package topology

import (
	"fmt"
	"strings"
	"testing"
)

// bigTopology is a site of 100,000 nodes: 50 first-level gateways, 2,500
// rack service nodes, 40 nodes a rack.
func bigTopology() string {
	var b strings.Builder
	b.WriteString("[routes]\nadmin: gw[1-50]\ngw[1-50]: svc[1-2500]\n")
	for i := 1; i <= 2500; i++ {
		fmt.Fprintf(&b, "svc%d: r%dn[01-40]\n", i, i)
	}
	return b.String()
}

// BenchmarkBigTopology: parse, root and route every node of a 100,000-node
// site.
func BenchmarkBigTopology(b *testing.B) {
	text := bigTopology()
	for b.Loop() {
		top, err := Parse(strings.NewReader(text), "big.conf", nil)
		if err != nil {
			b.Fatal(err)
		}
		tr, err := top.Tree("admin")
		if err != nil {
			b.Fatal(err)
		}
		if r := tr.Route("r2500n40"); len(r) != 2 {
			b.Fatal(r)
		}
	}
}
