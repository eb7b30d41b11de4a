// Command linkonly links the packages invicti-scim's command tree imports, runs their
// initialisers and exits: the start-up floor that no change to the command code can go below
// while those dependencies stay. internal/bench times it beside `invicti-scim --help`
// (docs/performance.md, "Start-up").
package main

import _ "github.com/invicti-scim/invicti-scim/cmd"

func main() {}
