package main

import (
	"debug/elf"
	"debug/gosym"
	"os"
	"strings"
	"testing"
)

// TestBinaryLinksNoGraphModels guards issue 16's binary size. One reachable msgraph-sdk-go
// model (a typed builder's Get, Post or Patch, or a builder's Get kept alive because the
// builder sits in a struct that is converted to an interface: huh's generic Accessor calls a
// method named Get) links the models' discriminator factories and with them about 1,700
// models: 35.8 MiB stripped instead of 15 MiB, and about 1 ms more start-up
// (docs/performance.md, "Binary size"). The test binary links everything the product links,
// so its function table (.gopclntab, kept even in stripped binaries such as go test's) is read
// instead of building the product again.
func TestBinaryLinksNoGraphModels(t *testing.T) {
	f, err := elf.Open(os.Args[0])
	if err != nil {
		t.Skipf("symbol table not readable here (not ELF): %v", err)
	}
	defer f.Close()
	pcln, text := f.Section(".gopclntab"), f.Section(".text")
	if pcln == nil || text == nil {
		t.Skip("no .gopclntab or .text section")
	}
	data, err := pcln.Data()
	if err != nil {
		t.Fatal(err)
	}
	table, err := gosym.NewTable(nil, gosym.NewLineTable(data, text.Addr))
	if err != nil {
		t.Fatal(err)
	}
	if len(table.Funcs) < 1000 {
		t.Fatalf("read only %d functions: the table was not understood", len(table.Funcs))
	}
	const models = "github.com/microsoftgraph/msgraph-sdk-go/models." // models/odataerrors is allowed
	var linked []string
	for _, fn := range table.Funcs {
		if strings.HasPrefix(fn.Name, models) {
			linked = append(linked, fn.Name)
		}
	}
	if len(linked) > 0 {
		t.Errorf("%d msgraph-sdk-go model symbols are linked, e.g. %q; build the URL with the request builder and send a small JSON type through Client.send (CONTRIBUTING.md, the SDK rule)",
			len(linked), linked[:min(5, len(linked))])
	}
}
