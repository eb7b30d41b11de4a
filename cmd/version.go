package cmd

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

func newVersionCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			info := struct {
				BuildInfo
				Go       string `json:"go"`
				Platform string `json:"platform"`
				OK       bool   `json:"ok"`
			}{f.Build, runtime.Version(), runtime.GOOS + "/" + runtime.GOARCH, true}
			if f.JSON() {
				return printJSON(f, info)
			}
			s := "invicti-scim " + f.Build.Version
			if f.Build.Commit != "" {
				s += " (" + f.Build.Commit
				if f.Build.Date != "" {
					s += ", " + f.Build.Date
				}
				s += ")"
			}
			fmt.Fprintf(f.IO.Out, "%s %s %s\n", s, info.Go, info.Platform)
			return nil
		},
	}
}
