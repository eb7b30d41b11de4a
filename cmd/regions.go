package cmd

import (
	"github.com/spf13/cobra"

	"github.com/invicti-scim/invicti-scim/internal/provision"
	"github.com/invicti-scim/invicti-scim/internal/ui"
)

type regionRow struct {
	Name          string `json:"name"`
	Label         string `json:"label"`
	BaseURL       string `json:"baseUrl"`
	TenantURL     string `json:"tenantUrl"`
	TokenEndpoint string `json:"tokenEndpoint"`
}

func newRegionsCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "regions",
		Short: "List Invicti Platform regions with their SCIM URLs",
		Long:  "List the Invicti Platform regions for --region, with the Tenant URL and Token Endpoint each one gives.\nFor on-premises or private tenants use --invicti-url instead.",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			var rows []regionRow
			for _, r := range provision.Regions() {
				rows = append(rows, regionRow{Name: r.Name, Label: r.Label, BaseURL: r.BaseURL, TenantURL: r.TenantURL, TokenEndpoint: r.TokenURL})
			}
			if f.JSON() {
				return printJSON(f, map[string]any{"regions": rows, "ok": true})
			}
			var table [][]string
			for _, r := range rows {
				table = append(table, []string{r.Name, r.Label, r.BaseURL, r.TenantURL, r.TokenEndpoint})
			}
			ui.Out(f.IO).Table([]string{"REGION", "NAME", "BASE URL", "TENANT URL", "TOKEN ENDPOINT"}, table)
			return nil
		},
	}
}
