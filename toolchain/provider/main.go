// Command pulumi-resource-openstack: the Pulumi OpenStack resource provider, built by onecloud.
//
// The released provider's main package embeds a schema its repository generates, and its module
// is not served by every Go module proxy. This program bridges the same upstream Terraform
// OpenStack provider release with the Pulumi Terraform bridge, and names every resource and
// function with the tokens of the pinned pulumi-openstack Python SDK (tokens.txt, extracted from
// that SDK by extract_tokens.py), so the SDK and this plugin agree.
//
// Like the released provider, it
//   - auto-names resources: an input `name` of type string gets `<logical name>-<7 random hex>`
//     when the program gives none (and keeps it for the resource's life);
//   - reads the same environment variables for the provider configuration the SDK documents;
//   - serves a full Pulumi package schema, generated from the same ProviderInfo at build time by
//     this very program built with the tag onecloud_schemagen (schemagen.go), and embedded from
//     schema/schema.json by the second build (onecloud's toolchain build does both; a plain
//     `go build .` serves a minimal schema).
package main

import (
	"embed"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	shim "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/terraform-provider-openstack/terraform-provider-openstack/v3/openstack"
)

//go:embed tokens.txt
var tokenList string

// schemaDir holds schema.json when the toolchain build generated it (README.md otherwise).
//
//go:embed schema
var schemaDir embed.FS

// Version is set at link time to the pulumi-openstack release the SDK asks for.
var Version = "0.0.0-dev"

// generate is set by schemagen.go (build tag onecloud_schemagen): the binary then writes the
// schema instead of serving the provider.
var generate func(prov tfbridge.ProviderInfo, args []string) error

// moduleAliases maps Terraform name prefixes to the SDK's module names where they differ.
var moduleAliases = map[string]string{"lb": "loadbalancer", "fw": "firewall", "db": "database"}

// overrides name the SDK tokens that no rule derives (the SDK's own spelling is kept).
var overrides = map[string]string{
	"openstack_blockstorage_quotaset_v3":                    "openstack:blockstorage/quoteSetV3:QuoteSetV3",
	"openstack_objectstorage_object_v1":                     "openstack:objectstorage/containerObject:ContainerObject",
	"openstack_taas_tap_mirror_v2":                          "openstack:index/taasTapMirrorV2:TaasTapMirrorV2",
	"data.openstack_dns_zone_v2":                            "openstack:dns/getDnsZone:getDnsZone",
	"data.openstack_loadbalancer_flavor_v2":                 "openstack:loadbalancer/getLbFlavorDeprecated:getLbFlavorDeprecated",
	"data.openstack_workflow_workflow_v2":                   "openstack:index/workflowWorkflowV2:WorkflowWorkflowV2",
	"data.openstack_sharedfilesystem_availability_zones_v2": "openstack:sharedfilesystem/getAvailbilityZones:getAvailbilityZones",
}

// configEnv: the provider settings the SDK (provider.py, config/vars.py) fills from the
// environment when the program and the stack config leave them unset, and the variables it
// reads. The schema declares them as defaults (the Terraform provider itself reads the same
// variables when a setting is unset; OS_CLOUD: see cloudEnvAsDefaultOnly).
var configEnv = map[string][]string{
	"allow_reauth":  {"OS_ALLOW_REAUTH"},
	"cloud":         {"OS_CLOUD"},
	"delayed_auth":  {"OS_DELAYED_AUTH"},
	"endpoint_type": {"OS_ENDPOINT_TYPE"},
	"insecure":      {"OS_INSECURE"},
	"region":        {"OS_REGION_NAME"},
	"swauth":        {"OS_SWAUTH"},
}

// fieldNames: Terraform fields whose SDK property name differs from the bridge's derived one,
// per resource or data source (a data source's key starts with "data.").
var fieldNames = map[string]map[string]string{
	"openstack_orchestration_stack_v1": {"outputs": "StackOutputs"},
}

// autoNameMaxLen: OpenStack's APIs take names of up to 255 characters.
const autoNameMaxLen = 255

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

// legacyToken is the token of a Terraform name in the package's index module, the spelling
// older SDKs used for names that have their own module now (`openstack_bgpvpn_v2` was
// `openstack:index/bgpvpnV2:BgpvpnV2`, now `openstack:bgpvpn/v2:V2`). The pinned SDK still
// ships those as deprecated twins, so the provider serves them too.
func legacyToken(tfName string, function bool) string {
	var member strings.Builder
	for _, part := range strings.Split(strings.TrimPrefix(tfName, "openstack_"), "_") {
		if part != "" {
			member.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	name := member.String()
	if function {
		name = "get" + name
	}
	return "openstack:index/" + strings.ToLower(name[:1]) + name[1:] + ":" + name
}

// deprecation reads as the SDK's own notice for a legacy twin.
func deprecation(legacy, current string) string {
	dotted := func(tok string) string {
		parts := strings.Split(tok, ":") // openstack:module/name:Name
		return parts[0] + "." + strings.ToLower(parts[1]) + "." + parts[2]
	}
	return dotted(legacy) + " has been deprecated in favor of " + dotted(current)
}

func tokenKey(token string) string {
	parts := strings.Split(token, ":") // openstack:module/name:Name
	if len(parts) != 3 {
		return ""
	}
	return strings.ToLower(parts[1])
}

// providerInfo maps the Terraform provider onto the SDK's tokens; it also returns the
// Terraform names the SDK has no token for.
func providerInfo(tf *schema.Provider) (tfbridge.ProviderInfo, []string) {
	index := map[string]string{}
	known := map[string]bool{}
	for _, tok := range strings.Fields(tokenList) {
		index[tokenKey(tok)] = tok
		known[tok] = true
	}
	p := shimv2.NewProvider(tf)
	prov := tfbridge.ProviderInfo{
		P:           p,
		Name:        "openstack",
		Version:     Version,
		Description: "A Pulumi package for creating and managing OpenStack cloud resources.",
		Keywords:    []string{"pulumi", "openstack"},
		License:     "Apache-2.0",
		GitHubOrg:   "terraform-provider-openstack",
		Config:      map[string]*tfbridge.SchemaInfo{},
		Resources:   map[string]*tfbridge.ResourceInfo{},
		DataSources: map[string]*tfbridge.DataSourceInfo{},
		Python:      &tfbridge.PythonInfo{Requires: map[string]string{"pulumi": ">=3.0.0,<4.0.0"}},
	}
	for key, vars := range configEnv {
		prov.Config[key] = &tfbridge.SchemaInfo{Default: &tfbridge.DefaultInfo{EnvVars: vars}}
	}
	var unmapped []string
	for _, name := range keys(p.ResourcesMap()) {
		tok, ok := overrides[name]
		if !ok {
			tok, ok = lookup(index, candidates(name, false))
		}
		if !ok {
			unmapped = append(unmapped, name)
			continue
		}
		info := &tfbridge.ResourceInfo{Tok: tokens.Type(tok), Fields: renamed(name)}
		autoName(info, p.ResourcesMap().Get(name))
		prov.Resources[name] = info
		if legacy := legacyToken(name, false); legacy != tok && known[legacy] {
			twin := name + tfbridge.RenamedEntitySuffix
			if err := shim.CloneResource(p.ResourcesMap(), name, twin); err != nil {
				panic(err)
			}
			legacyType := legacy
			info.Aliases = append(info.Aliases, tfbridge.AliasInfo{Type: &legacyType})
			twinInfo := &tfbridge.ResourceInfo{
				Tok:                tokens.Type(legacy),
				Fields:             renamed(name),
				DeprecationMessage: deprecation(legacy, tok),
			}
			autoName(twinInfo, p.ResourcesMap().Get(twin))
			prov.Resources[twin] = twinInfo
		}
	}
	for _, name := range keys(p.DataSourcesMap()) {
		tok, ok := overrides["data."+name]
		if !ok {
			tok, ok = lookup(index, candidates(name, true))
		}
		if !ok {
			unmapped = append(unmapped, "data."+name)
			continue
		}
		prov.DataSources[name] = &tfbridge.DataSourceInfo{
			Tok:    tokens.ModuleMember(tok),
			Fields: renamed("data." + name),
		}
		if legacy := legacyToken(name, true); legacy != tok && known[legacy] {
			twin := name + tfbridge.RenamedEntitySuffix
			if err := shim.CloneResource(p.DataSourcesMap(), name, twin); err != nil {
				panic(err)
			}
			prov.DataSources[twin] = &tfbridge.DataSourceInfo{
				Tok:                tokens.ModuleMember(legacy),
				Fields:             renamed("data." + name),
				DeprecationMessage: deprecation(legacy, tok),
			}
		}
	}
	for _, name := range unmapped {
		prov.IgnoreMappings = append(prov.IgnoreMappings, strings.TrimPrefix(name, "data."))
	}
	return prov, unmapped
}

func renamed(key string) map[string]*tfbridge.SchemaInfo {
	fields := map[string]*tfbridge.SchemaInfo{}
	for tf, pulumiName := range fieldNames[key] {
		fields[tf] = &tfbridge.SchemaInfo{Name: pulumiName}
	}
	return fields
}

// autoName gives a resource's input `name` (a string the user may set) Pulumi's automatic
// name when the program sets none: the logical name, "-" and 7 random hex digits, at most
// autoNameMaxLen long. The name is kept in the state, so it does not change on updates, and
// a required `name` becomes optional. A field the mapping already customises is left alone.
func autoName(info *tfbridge.ResourceInfo, res shim.Resource) {
	if res == nil {
		return
	}
	sch, ok := res.Schema().GetOk("name")
	if !ok || sch.Type() != shim.TypeString || !(sch.Required() || sch.Optional()) {
		return
	}
	if _, customised := info.Fields["name"]; customised {
		return
	}
	info.Fields["name"] = tfbridge.AutoName("name", autoNameMaxLen, "-")
}

func servedSchema() []byte {
	if data, err := schemaDir.ReadFile("schema/schema.json"); err == nil {
		return data
	}
	return []byte(fmt.Sprintf(`{"name":"openstack","version":%q}`, Version))
}

// cloudEnvAsDefaultOnly makes OS_CLOUD what the schema says it is, the default of the `cloud`
// setting, and nothing more. The upstream client library also reads OS_CLOUD by itself when
// `cloud` is empty, and then authenticates with that clouds.yaml entry instead of the explicit
// credentials the provider was given: a provider with its own auth_url, user and tenant_name
// (a project-scoped one) would silently work in the clouds.yaml entry's project whenever the
// shell has OS_CLOUD exported. Here the variable is taken out of this process' environment and
// serves as the Terraform default of `cloud`: unset `cloud` still means OS_CLOUD's entry (as
// with the released provider), an explicit `cloud: ""` means "no clouds.yaml entry".
func cloudEnvAsDefaultOnly(tf *schema.Provider) {
	cloud, set := os.LookupEnv("OS_CLOUD")
	if !set {
		return
	}
	if err := os.Unsetenv("OS_CLOUD"); err != nil {
		return
	}
	if s, ok := tf.Schema["cloud"]; ok {
		s.DefaultFunc = func() (interface{}, error) { return cloud, nil }
	}
}

func main() {
	tf := openstack.Provider()
	if generate == nil { // serving: the schema generator must not see this shell's OS_CLOUD
		cloudEnvAsDefaultOnly(tf)
	}
	prov, unmapped := providerInfo(tf)
	if os.Getenv("ONECLOUD_PROVIDER_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, "mapped %d resources, %d functions; not in the SDK: %v\n",
			len(prov.Resources), len(prov.DataSources), unmapped)
	}
	if generate != nil {
		if err := generate(prov, os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "schemagen:", err)
			os.Exit(1)
		}
		return
	}
	tfbridge.Main("openstack", Version, prov, servedSchema())
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
