package wizard

import "charm.land/huh/v2"

// theme is huh's Charm theme with the chosen button of a Yes/No question marked by brackets
// as well as by colour: with NO_COLOR (or a monochrome terminal) colour alone shows nothing,
// and the form left on screen after the answer is the record of that answer.
func theme(isDark bool) *huh.Styles {
	t := huh.ThemeCharm(isDark)
	mark := func(s string) string { return "[" + s + "]" }
	pad := func(s string) string { return " " + s + " " }
	for _, fs := range []*huh.FieldStyles{&t.Focused, &t.Blurred} {
		fs.FocusedButton = fs.FocusedButton.Transform(mark)
		fs.BlurredButton = fs.BlurredButton.Transform(pad)
	}
	t.Focused.Next = t.Focused.FocusedButton
	return t
}
