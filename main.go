// Command invicti-scim connects a Microsoft Entra ID tenant to Invicti Platform's SCIM
// endpoint, so that Entra provisions users and teams into Invicti automatically.
package main

import (
	"os"

	"github.com/invicti-scim/invicti-scim/cmd"
)

// Set by GoReleaser with -ldflags "-X main.version=… -X main.commit=… -X main.date=…".
var version, commit, date = "dev", "", ""

func main() {
	os.Exit(cmd.Main(cmd.BuildInfo{Version: version, Commit: commit, Date: date}))
}
