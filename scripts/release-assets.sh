#!/bin/sh
# Writes the shell completions (completions/) and man pages (manpages/) that release archives
# and packages ship, by running the CLI itself. GoReleaser runs this as a before hook; it is
# safe to run by hand. Both folders are gitignored. Set SOURCE_DATE_EPOCH to date the man pages
# reproducibly (the hook passes the commit time).
set -eu

# Without git information GoReleaser passes a zero or negative time; date the pages today then.
case "${SOURCE_DATE_EPOCH:-}" in
'' | 0 | -*) unset SOURCE_DATE_EPOCH ;;
esac

bin_dir=$(mktemp -d)
trap 'rm -rf "$bin_dir"' EXIT
go build -o "$bin_dir/invicti-scim" .

rm -rf completions manpages
mkdir -p completions manpages
for shell in bash zsh fish; do
	"$bin_dir/invicti-scim" completion "$shell" >"completions/invicti-scim.$shell"
done
"$bin_dir/invicti-scim" completion powershell >completions/invicti-scim.ps1
go run ./internal/docgen -man manpages
gzip -9 -n manpages/*.1
