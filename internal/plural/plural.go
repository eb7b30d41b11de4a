// Package plural writes counts with their noun in English: "1 user", "2 users", "0 groups".
// One helper for cmd and the use cases, so a message never says "1 days" or "check(s)".
package plural

import "strconv"

// Count is n and noun, with an "s" unless n is 1 ("1 user", "3 users", "0 days"). Nouns whose
// plural is not noun+"s" use CountOf.
func Count(n int, noun string) string { return CountOf(n, noun, noun+"s") }

// CountOf is Count with the plural given ("1 entry", "2 entries").
func CountOf(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
