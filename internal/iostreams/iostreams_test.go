package iostreams

import "testing"

func TestEnvironment(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		tty         bool
		wantColor   bool
		wantPrompt  bool
		wantAnimate bool
	}{
		{name: "terminal", tty: true, wantColor: true, wantPrompt: true, wantAnimate: true},
		{name: "pipe", tty: false},
		{name: "NO_COLOR on a terminal", env: map[string]string{"NO_COLOR": "1"}, tty: true, wantPrompt: true, wantAnimate: true},
		{name: "TERM=dumb", env: map[string]string{"TERM": "dumb"}, tty: true, wantPrompt: true},
		{name: "CLICOLOR_FORCE into a pipe", env: map[string]string{"CLICOLOR_FORCE": "1"}, wantColor: true},
		{name: "NO_COLOR beats CLICOLOR_FORCE", env: map[string]string{"CLICOLOR_FORCE": "1", "NO_COLOR": "x"}},
		{name: "non-interactive env", env: map[string]string{"INVICTI_SCIM_NON_INTERACTIVE": "1"}, tty: true, wantColor: true, wantAnimate: true},
		{name: "non-interactive=0 still prompts", env: map[string]string{"INVICTI_SCIM_NON_INTERACTIVE": "0"}, tty: true, wantColor: true, wantPrompt: true, wantAnimate: true},
		{name: "ACCESSIBLE stops animation", env: map[string]string{"ACCESSIBLE": "1"}, tty: true, wantColor: true, wantPrompt: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := Test()
			ios.SetTTY(tt.tty)
			ios.applyEnv(func(k string) string { return tt.env[k] })
			if got := ios.ColorEnabled(true); got != tt.wantColor {
				t.Errorf("ColorEnabled = %v", got)
			}
			if got := ios.CanPrompt(); got != tt.wantPrompt {
				t.Errorf("CanPrompt = %v", got)
			}
			if got := ios.Animate(); got != tt.wantAnimate {
				t.Errorf("Animate = %v", got)
			}
		})
	}
}

func TestWidth(t *testing.T) {
	ios, _, _, _ := Test()
	if ios.Width() != 80 {
		t.Errorf("default width %d", ios.Width())
	}
	ios.applyEnv(func(k string) string { return map[string]string{"COLUMNS": "132"}[k] })
	if ios.Width() != 132 {
		t.Errorf("COLUMNS width %d", ios.Width())
	}
}
