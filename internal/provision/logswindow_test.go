package provision

import (
	"strings"
	"testing"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/graph"
)

func TestLogsSince(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	tests := []struct {
		name string
		job  graph.Job
		want time.Time
		why  string
	}{
		{"plain 24h", graph.Job{}, now.Add(-24 * time.Hour), ""},
		{"recent success keeps 24h", graph.Job{Status: graph.JobStatus{LastSuccessfulExecution: &graph.TaskExecution{TimeBegan: ago(time.Hour)}}}, now.Add(-24 * time.Hour), ""},
		{"last success 3 days ago", graph.Job{Status: graph.JobStatus{LastSuccessfulExecution: &graph.TaskExecution{TimeBegan: ago(72 * time.Hour)}}}, now.Add(-72 * time.Hour), "last successful cycle"},
		{"quarantine older than last success", graph.Job{Status: graph.JobStatus{
			LastSuccessfulExecution: &graph.TaskExecution{TimeBegan: ago(48 * time.Hour)},
			Quarantine:              &graph.Quarantine{SeriesBegan: ago(100 * time.Hour), CurrentBegan: ago(2 * time.Hour)}}}, now.Add(-100 * time.Hour), "quarantine"},
		{"capped at 30 days", graph.Job{Status: graph.JobStatus{Quarantine: &graph.Quarantine{CurrentBegan: ago(900 * time.Hour)}}}, now.Add(-30 * 24 * time.Hour), "capped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := LogsSince(tt.job, now)
			if !got.Equal(tt.want) || (tt.why == "") != (why == "") || !strings.Contains(why, tt.why) {
				t.Fatalf("LogsSince = %s %q, want %s %q", got, why, tt.want, tt.why)
			}
		})
	}
}
