//go:build onecloud_schemagen

// The schema generator: this package built with `-tags onecloud_schemagen` writes the Pulumi
// package schema of providerInfo() (the very mapping the provider serves) with the bridge's
// generator, instead of serving the provider:
//
//	pulumi-resource-openstack-schemagen -out schema/schema.json [-docs <terraform provider dir>]
//
// -docs points at the Terraform provider's module source (its docs/ folder holds the Markdown
// the descriptions come from); without it the schema has the Terraform schema's descriptions.
// Examples are not converted (that needs every language's converter plugins).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag/colors"
	"github.com/spf13/afero"
)

func init() { generate = writeSchema }

func writeSchema(prov tfbridge.ProviderInfo, args []string) error {
	flags := flag.NewFlagSet("schemagen", flag.ContinueOnError)
	out := flags.String("out", "", "where to write schema.json")
	docs := flags.String("docs", "", "the Terraform provider's module directory (for descriptions)")
	verbose := flags.Bool("v", false, "print the generator's warnings")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("-out is required")
	}
	if *docs != "" {
		prov.UpstreamRepoPath = *docs
	}
	warnings := os.Stderr
	if !*verbose {
		warnings = nil
	}
	var sink diag.Sink
	if warnings != nil {
		sink = diag.DefaultSink(os.Stderr, os.Stderr, diag.FormatOptions{Color: colors.Never})
	} else {
		devnull, err := os.Open(os.DevNull)
		if err != nil {
			return err
		}
		defer devnull.Close()
		sink = diag.DefaultSink(devnull, os.Stderr, diag.FormatOptions{Color: colors.Never})
	}
	gen, err := tfgen.NewGenerator(tfgen.GeneratorOptions{
		Package:      prov.Name,
		Version:      prov.Version,
		Language:     tfgen.Schema,
		ProviderInfo: prov,
		Root:         afero.NewMemMapFs(),
		Sink:         sink,
		SkipDocs:     *docs == "",
		SkipExamples: true,
	})
	if err != nil {
		return err
	}
	result, err := gen.Generate()
	if err != nil {
		return err
	}
	spec := result.PackageSpec
	spec.Version = prov.Version
	data, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "schemagen: %d resources, %d functions, %d bytes -> %s\n",
		len(spec.Resources), len(spec.Functions), len(data), *out)
	return os.WriteFile(*out, data, 0o644)
}
