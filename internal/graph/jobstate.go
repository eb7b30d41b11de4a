package graph

import "strings"

// Quarantined reports whether Entra has put the job in quarantine: status code "Quarantine" or
// a quarantine object (Graph's synchronizationStatus; the schedule can still read Active).
func (j Job) Quarantined() bool {
	return strings.EqualFold(j.Status.Code, "Quarantine") || j.Status.Quarantine != nil
}

// Running is the program's one rule for "the job runs": its schedule is Active and it is not
// in quarantine. A quarantined job keeps schedule Active while Entra backs off, so the
// schedule alone says nothing; status, job start and setup all decide by this.
func (j Job) Running() bool {
	return strings.EqualFold(j.Schedule.State, "Active") && !j.Quarantined()
}
