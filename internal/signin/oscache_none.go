//go:build !(linux || windows || (darwin && cgo))

package signin

import (
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// OpenOSCache always fails in this build: azidentity/cache reaches the macOS keychain through
// cgo, and release builds are made with CGO_ENABLED=0 (it does not compile there at all), so
// macOS sessions are kept in memory only.
func OpenOSCache(string) (azidentity.Cache, error) {
	return azidentity.Cache{}, errors.New("this build of invicti-scim has no keychain support (built without cgo)")
}
