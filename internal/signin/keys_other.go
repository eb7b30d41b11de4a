//go:build !linux

package signin

// removeCacheKeys has nothing to do outside Linux: Windows keeps no separate key (DPAPI), and
// on macOS the keychain item is the cache itself (left in place, see cacheFiles).
func removeCacheKeys(string) []string { return nil }
