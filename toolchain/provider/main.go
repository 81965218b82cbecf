// Command pulumi-resource-openstack: the Pulumi OpenStack resource provider, built by onecloud.
//
// The released provider's main package embeds a schema its repository generates, and its module
// is not served by every Go module proxy. This program bridges the same upstream Terraform
// OpenStack provider release with the Pulumi Terraform bridge, and names every resource and
// function with the tokens of the pinned pulumi-openstack Python SDK (tokens.txt, extracted from
// that SDK by extract_tokens.py), so the SDK and this plugin agree.
package main

import (
	_ "embed"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	shim "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/terraform-provider-openstack/terraform-provider-openstack/v3/openstack"
)

//go:embed tokens.txt
var tokenList string

// Version is set at link time to the pulumi-openstack release the SDK asks for.
var Version = "0.0.0-dev"

// moduleAliases maps Terraform name prefixes to the SDK's module names where they differ.
var moduleAliases = map[string]string{"lb": "loadbalancer", "fw": "firewall", "db": "database"}

// overrides name the SDK tokens that no rule derives (the SDK's own spelling is kept).
var overrides = map[string]string{
	"openstack_blockstorage_quotaset_v3":                    "openstack:blockstorage/quoteSetV3:QuoteSetV3",
	"openstack_objectstorage_object_v1":                     "openstack:objectstorage/containerObject:ContainerObject",
	"openstack_taas_tap_mirror_v2":                          "openstack:index/taasTapMirrorV2:TaasTapMirrorV2",
	"data.openstack_dns_zone_v2":                            "openstack:dns/getDnsZone:getDnsZone",
	"data.openstack_sharedfilesystem_availability_zones_v2": "openstack:sharedfilesystem/getAvailbilityZones:getAvailbilityZones",
}

var versionSuffix = regexp.MustCompile(`_v(\d+)$`)

// candidates gives the lower-cased "module/name" keys a Terraform name may have in the SDK.
func candidates(tfName string, function bool) []string {
	rest := strings.TrimPrefix(tfName, "openstack_")
	ver := ""
	if m := versionSuffix.FindStringSubmatch(rest); m != nil {
		ver = "v" + m[1]
		rest = strings.TrimSuffix(rest, m[0])
	}
	mod, name, _ := strings.Cut(rest, "_")
	if alias, ok := moduleAliases[mod]; ok {
		mod = alias
	}
	name = strings.ReplaceAll(name, "_", "")
	if function {
		name = "get" + name
	}
	keys := []string{mod + "/" + name}
	if ver != "" {
		keys = append(keys, mod+"/"+name+ver)
	}
	return keys
}

func tokenKey(token string) string {
	parts := strings.Split(token, ":") // openstack:module/name:Name
	if len(parts) != 3 {
		return ""
	}
	return strings.ToLower(parts[1])
}

func main() {
	index := map[string]string{}
	for _, tok := range strings.Fields(tokenList) {
		index[tokenKey(tok)] = tok
	}
	p := shimv2.NewProvider(openstack.Provider())
	prov := tfbridge.ProviderInfo{
		P:           p,
		Name:        "openstack",
		Version:     Version,
		Resources:   map[string]*tfbridge.ResourceInfo{},
		DataSources: map[string]*tfbridge.DataSourceInfo{},
	}
	var unmapped []string
	for _, name := range keys(p.ResourcesMap()) {
		if tok, ok := overrides[name]; ok {
			prov.Resources[name] = &tfbridge.ResourceInfo{Tok: tokenType(tok)}
		} else if tok, ok := lookup(index, candidates(name, false)); ok {
			prov.Resources[name] = &tfbridge.ResourceInfo{Tok: tokenType(tok)}
		} else {
			unmapped = append(unmapped, name)
		}
	}
	for _, name := range keys(p.DataSourcesMap()) {
		if tok, ok := overrides["data."+name]; ok {
			prov.DataSources[name] = &tfbridge.DataSourceInfo{Tok: tokenModuleMember(tok)}
		} else if tok, ok := lookup(index, candidates(name, true)); ok {
			prov.DataSources[name] = &tfbridge.DataSourceInfo{Tok: tokenModuleMember(tok)}
		} else {
			unmapped = append(unmapped, "data."+name)
		}
	}
	if os.Getenv("ONECLOUD_PROVIDER_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, "mapped %d resources, %d functions; not in the SDK: %v\n",
			len(prov.Resources), len(prov.DataSources), unmapped)
	}
	tfbridge.Main("openstack", Version, prov, []byte(`{"name":"openstack"}`))
}

func keys(m shim.ResourceMap) []string {
	var out []string
	m.Range(func(key string, _ shim.Resource) bool {
		out = append(out, key)
		return true
	})
	sort.Strings(out)
	return out
}

func lookup(index map[string]string, keys []string) (string, bool) {
	for _, k := range keys {
		if tok, ok := index[k]; ok {
			return tok, true
		}
	}
	return "", false
}

func tokenType(tok string) tokens.Type { return tokens.Type(tok) }

func tokenModuleMember(tok string) tokens.ModuleMember { return tokens.ModuleMember(tok) }
