package main

import (
	"os"
	"strings"
	"testing"

	"github.com/terraform-provider-openstack/terraform-provider-openstack/v3/openstack"
)

func TestEverySDKTokenIsServedOnce(t *testing.T) {
	prov, unmapped := providerInfo(openstack.Provider())
	if len(unmapped) != 0 {
		t.Errorf("Terraform names without an SDK token: %v", unmapped)
	}
	served := map[string]string{}
	for name, res := range prov.Resources {
		if other, dup := served[string(res.Tok)]; dup {
			t.Errorf("%s served by %s and %s", res.Tok, name, other)
		}
		served[string(res.Tok)] = name
	}
	for name, ds := range prov.DataSources {
		if other, dup := served[string(ds.Tok)]; dup {
			t.Errorf("%s served by data.%s and %s", ds.Tok, name, other)
		}
		served[string(ds.Tok)] = "data." + name
	}
	for _, tok := range strings.Fields(tokenList) {
		if _, ok := served[tok]; !ok {
			t.Errorf("SDK token %s is not served", tok)
		}
	}
}

func TestNameInputsAreAutoNamed(t *testing.T) {
	prov, _ := providerInfo(openstack.Provider())
	for _, name := range []string{"openstack_compute_instance_v2", "openstack_networking_network_v2",
		"openstack_compute_keypair_v2", "openstack_identity_project_v3"} {
		field := prov.Resources[name].Fields["name"]
		if field == nil || field.Default == nil || !field.Default.AutoNamed {
			t.Errorf("%s: name is not auto-named", name)
		}
	}
	if _, ok := prov.Resources["openstack_networking_secgroup_rule_v2"].Fields["name"]; ok {
		t.Errorf("a resource without a name input got one")
	}
}

func TestLegacyTokens(t *testing.T) {
	if got := legacyToken("openstack_bgpvpn_v2", false); got != "openstack:index/bgpvpnV2:BgpvpnV2" {
		t.Errorf("legacyToken: %s", got)
	}
	if got := legacyToken("openstack_fw_group_v2", true); got != "openstack:index/getFwGroupV2:getFwGroupV2" {
		t.Errorf("legacyToken: %s", got)
	}
}

func TestOSCloudIsOnlyTheDefaultOfCloud(t *testing.T) {
	t.Setenv("OS_CLOUD", "from-env")
	tf := openstack.Provider()
	cloudEnvAsDefaultOnly(tf)
	if v, ok := os.LookupEnv("OS_CLOUD"); ok {
		t.Errorf("OS_CLOUD still in the environment: %q", v)
	}
	got, err := tf.Schema["cloud"].DefaultFunc()
	if err != nil || got != "from-env" {
		t.Errorf("default of cloud: %v, %v", got, err)
	}
}
