package graph

import (
	"fmt"
	"strings"
)

// Cloud is one Microsoft cloud: where Graph and sign-in live, and which application template
// creates a non-gallery (custom) enterprise app there.
type Cloud struct {
	Name       string // global, usgov, china
	GraphURL   string // Graph root, without /v1.0
	LoginURL   string // Entra authority host
	PortalURL  string // Entra admin centre, for deep links
	TemplateID string // the non-gallery application template
}

// Clouds lists the supported clouds. The template ids differ per cloud (Graph
// applicationTemplate-instantiate docs); using the global one elsewhere gives 404.
func Clouds() []Cloud {
	return []Cloud{
		{Name: "global", GraphURL: "https://graph.microsoft.com", LoginURL: "https://login.microsoftonline.com", PortalURL: "https://entra.microsoft.com", TemplateID: "8adf8e6e-67b2-4cf2-a259-e3dc5476c621"},
		{Name: "usgov", GraphURL: "https://graph.microsoft.us", LoginURL: "https://login.microsoftonline.us", PortalURL: "https://portal.azure.us", TemplateID: "4602d0b4-76bb-404b-bca9-2652e1a39c6d"},
		{Name: "china", GraphURL: "https://microsoftgraph.chinacloudapi.cn", LoginURL: "https://login.chinacloudapi.cn", PortalURL: "https://portal.azure.cn", TemplateID: "5a532e38-1581-4918-9658-008dc27c1d68"},
	}
}

// CloudByName finds a cloud by its --cloud name.
func CloudByName(name string) (Cloud, error) {
	for _, c := range Clouds() {
		if strings.EqualFold(c.Name, name) {
			return c, nil
		}
	}
	return Cloud{}, fmt.Errorf("unknown cloud %q: expected one of global, usgov, china", name)
}

// ProvisioningBlade is the portal deep link to an enterprise app's Provisioning blade.
func (c Cloud) ProvisioningBlade(spID, appID string) string {
	return fmt.Sprintf("%s/#view/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/Provisioning/objectId/%s/appId/%s", c.PortalURL, spID, appID)
}

// OverviewBlade is the portal deep link to an enterprise app's overview.
func (c Cloud) OverviewBlade(spID, appID string) string {
	return fmt.Sprintf("%s/#view/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/Overview/objectId/%s/appId/%s", c.PortalURL, spID, appID)
}

// UsersBlade is the portal deep link to an enterprise app's "Users and groups" blade.
func (c Cloud) UsersBlade(spID, appID string) string {
	return fmt.Sprintf("%s/#view/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/Users/objectId/%s/appId/%s", c.PortalURL, spID, appID)
}

// Scope is the .default scope for this cloud's Graph; tokens do not cross clouds.
func (c Cloud) Scope() string { return c.GraphURL + "/.default" }
