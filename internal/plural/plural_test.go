package plural

import "testing"

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{Count(1, "day"), "1 day"},
		{Count(0, "day"), "0 days"},
		{Count(2, "user"), "2 users"},
		{Count(-1, "day"), "-1 days"},
		{CountOf(1, "entry", "entries"), "1 entry"},
		{CountOf(3, "entry", "entries"), "3 entries"},
	} {
		if tc.got != tc.want {
			t.Errorf("%q, want %q", tc.got, tc.want)
		}
	}
}
