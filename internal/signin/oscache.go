//go:build linux || windows || (darwin && cgo)

package signin

import (
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity/cache"
)

// OpenOSCache opens azidentity's persistent token cache NAME, encrypted by the OS secret
// store. It fails where the store is unavailable (no kernel keyring in a container, no
// keychain access); the caller then keeps tokens in memory.
func OpenOSCache(name string) (azidentity.Cache, error) {
	return cache.New(&cache.Options{Name: name})
}
