package signin

import "golang.org/x/sys/unix"

// removeCacheKeys unlinks the encryption keys azidentity/cache keeps for a cache name in the
// kernel keyring (github.com/Azure/azure-sdk-for-go/sdk/azidentity/cache v0.4.0,
// cache_linux.go: a "user" key described by the cache name, in the user's persistent keyring
// when the kernel has one, else the user keyring). Best effort: without the cache file a key
// decrypts nothing, so a key left behind holds no token. It returns the names removed.
func removeCacheKeys(name string) []string {
	ring, err := unix.KeyctlGetKeyringID(unix.KEY_SPEC_USER_KEYRING, false)
	if err != nil {
		return nil
	}
	rings := []int{ring}
	if p, err := unix.KeyctlInt(unix.KEYCTL_GET_PERSISTENT, -1, ring, 0, 0); err == nil {
		rings = append([]int{p}, rings...)
	}
	var removed []string
	for _, d := range []string{name, name + ".cae"} {
		for _, r := range rings {
			id, err := unix.KeyctlSearch(r, "user", d, 0)
			if err != nil {
				continue
			}
			if _, err := unix.KeyctlInt(unix.KEYCTL_UNLINK, id, r, 0, 0); err == nil {
				removed = append(removed, d)
				break
			}
		}
	}
	return removed
}
