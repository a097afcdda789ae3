package partition_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/drove-dev/drove/partition"
)

// Partition a tree live and print one rsync job per partition as soon as
// it is written.
func ExampleRun() {
	src, _ := os.MkdirTemp("", "src")
	defer os.RemoveAll(src)
	for _, n := range []string{"a", "b", "c"} {
		os.WriteFile(filepath.Join(src, n), []byte(n), 0o644)
	}
	out, _ := os.MkdirTemp("", "parts")
	defer os.RemoveAll(out)

	job := partition.Job{Mode: partition.ModeRsync, Src: "/data/src", Dst: "backup:/data"}
	opts := partition.Options{Src: src, OutDir: out, MaxFiles: 2, Sort: true, Format: job.ListFormat()}
	sum, err := partition.Run(context.Background(), opts, func(p partition.Partition) error {
		line, err := job.Format(partition.Partition{Seq: p.Seq, ListPath: "/shared/" + filepath.Base(p.ListPath)})
		fmt.Println(line)
		return err
	}, nil)
	fmt.Println(sum.Files, sum.Parts, sum.Complete(), err)
	// Output:
	// rsync -a --from0 --files-from=/shared/part.000001 /data/src/ backup:/data/
	// rsync -a --from0 --files-from=/shared/part.000002 /data/src/ backup:/data/
	// 3 2 true <nil>
}

func ExampleQuote() {
	fmt.Println(partition.Quote("/plain/path"))
	fmt.Println(partition.Quote("$(touch pwned) it's"))
	// Output:
	// /plain/path
	// '$(touch pwned) it'\''s'
}

func ExampleParseSize() {
	for _, s := range []string{"4096", "512MiB", "10G", "10GB"} {
		n, _ := partition.ParseSize(s)
		fmt.Println(s, n)
	}
	// Output:
	// 4096 4096
	// 512MiB 536870912
	// 10G 10737418240
	// 10GB 10000000000
}
