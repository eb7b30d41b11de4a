package cmd

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/invicti-scim/invicti-scim/internal/iostreams"
	"github.com/invicti-scim/invicti-scim/internal/ui"
)

func TestExplainDeadlineNamesTheRightTimeout(t *testing.T) {
	stall := fmt.Errorf("get token: %w", context.DeadlineExceeded)
	f := &Factory{Timeout: 30 * time.Minute, RequestTimeout: 2 * time.Second}
	_, cancel := f.context(context.Background())
	defer cancel()
	got := explainDeadline(f, stall).Error()
	if strings.Contains(got, "30m0s") || !strings.Contains(got, "no answer within 2s (--request-timeout)") {
		t.Errorf("a 2 s stall under --timeout 30m reads %q", got)
	}

	f = &Factory{Timeout: time.Nanosecond, RequestTimeout: time.Minute}
	ctx, cancel2 := f.context(context.Background())
	defer cancel2()
	<-ctx.Done()
	got = explainDeadline(f, stall).Error()
	if !strings.Contains(got, "timed out after 1ns (--timeout)") {
		t.Errorf("the command's own deadline reads %q", got)
	}
}

func TestThrottleNoticeSaysWhatHappened(t *testing.T) {
	ios, _, _, errOut := iostreams.Test()
	sp := ui.NewSpinner(ios)
	n := throttleNotice(sp)
	n(nil, 0, 0)
	n(nil, 503, 0)
	n(nil, 429, 3*time.Second)
	out := errOut.String()
	for _, want := range []string{
		"no answer from Graph within --request-timeout; asking again",
		"Graph answered 503 Service Unavailable; asking again",
		"Graph answered 429 Too Many Requests; waiting 3s before asking again",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("notices %q lack %q", out, want)
		}
	}
	if strings.Contains(out, "answered ;") || strings.Contains(out, "waiting 0s") {
		t.Errorf("a misleading notice: %q", out)
	}
}
