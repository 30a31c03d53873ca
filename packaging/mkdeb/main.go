// Command mkdeb builds FeiGo's .deb from a built binary (make package-deb runs it):
//
//	go run ./packaging/mkdeb -bin feigo -out . [-maintainer "Name <address>"]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"feigo/packaging"
)

func main() {
	bin := flag.String("bin", "feigo", "the built feigo binary")
	out := flag.String("out", ".", "where to write the .deb")
	maint := flag.String("maintainer", "FeiGo maintainers <maintainers@users.noreply.h-seed-de9c6ee6.example>", "the package's Maintainer")
	version := flag.String("version", "", "the package version (default: the binary's --version)")
	flag.Parse()
	p, err := packaging.Build(context.Background(), packaging.Config{Binary: *bin, OutDir: *out, Maintainer: *maint, Version: *version})
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkdeb:", err)
		os.Exit(1)
	}
	fmt.Println(p)
}
