package cmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/invicti-scim/invicti-scim/internal/provision"
	"github.com/invicti-scim/invicti-scim/internal/ui"
)

// mappingsAfterAssign is setup's hook after it assigned users and groups: it runs `mappings
// check` and, when some assigned users would reach Invicti without an e-mail or name, warns on
// stderr with the fix. It never changes the mappings (that needs a confirmation: `mappings
// check --fix`) and never fails setup: a check that cannot run is reported and skipped.
func mappingsAfterAssign(ctx context.Context, f *Factory, conn *graphConn, spID, jobID string) {
	if conn == nil || spID == "" || jobID == "" {
		return
	}
	p := ui.Err(f.IO)
	res, err := provision.CheckMappings(ctx, conn.Client, spID, jobID)
	if err != nil {
		p.Check(ui.SymSkip, "mapping check skipped", f.IO.Redactor.Redact(err.Error()))
		return
	}
	for _, fd := range res.Findings {
		if fd.Count == 0 {
			continue
		}
		fix := "fill the attribute in Entra or map a fallback (docs/mappings.md)"
		if fd.Fix != "" {
			fix = "run `invicti-scim mappings check --fix` (maps " + fd.Target + " ← " + fd.Fix + ")"
		}
		p.Check(ui.SymWarn, fmt.Sprintf("%d assigned user(s) would reach Invicti without %s", fd.Count, fd.What),
			strings.Join(fd.Users, ", ")+"; "+fix)
	}
}
