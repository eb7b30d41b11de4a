package signin

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"runtime"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// CacheKind says where a session's tokens are kept.
type CacheKind string

const (
	// CachePersistent: azidentity's persistent cache, encrypted by the OS secret store (Linux:
	// a key in the kernel keyring and an encrypted file; macOS: the keychain; Windows: DPAPI).
	CachePersistent CacheKind = "persistent"
	// CacheMemory: this process's memory only; the next run signs in again.
	CacheMemory CacheKind = "memory"
	// CacheNone: invicti-scim caches nothing (a token from the environment, app credentials,
	// or az, which keeps its own session).
	CacheNone CacheKind = "none"
)

// cacheNoneReason is why a run falls back to memory: said in notices and hints.
const cacheNoneReason = "no OS secret store"

// TokenCacheEnv turns the persistent cache off when set to "none" (for shared machines, or
// to keep tests out of the kernel keyring).
const TokenCacheEnv = "INVICTI_SCIM_TOKEN_CACHE" //nolint:gosec // G101: a variable name, not a credential

// cacheName isolates one config dir's tokens from another's (and from other tools'): the
// config dir is the tool's unit of "one tenant, one session".
func cacheName(configDir string) string {
	if configDir == "" {
		return "invicti-scim"
	}
	if abs, err := filepath.Abs(configDir); err == nil {
		configDir = abs
	}
	sum := sha256.Sum256([]byte(configDir))
	return "invicti-scim-" + hex.EncodeToString(sum[:6])
}

// openCache opens the persistent token cache, or falls back to memory with a one-line notice
// (never an error: a sign-in without a cache still works, it just is not kept). The notice is
// printed only when this run will sign a person in afresh (say only what the person sees).
func openCache(env Env, name string, fresh bool) (azidentity.Cache, CacheKind) {
	if env.Getenv(TokenCacheEnv) == "none" {
		return azidentity.Cache{}, CacheMemory
	}
	open := env.OpenCache
	if open == nil {
		open = OpenOSCache
	}
	c, err := open(name)
	if err != nil {
		if fresh {
			env.notice("Microsoft sign-in is not kept after this run: " + cacheNoneReason + " for the token cache (" + err.Error() + ")")
		}
		return azidentity.Cache{}, CacheMemory
	}
	return c, CachePersistent
}

// cacheFiles are the files azidentity/cache keeps for a cache name, so logout can remove them
// (github.com/Azure/azure-sdk-for-go/sdk/azidentity/cache v0.4.0: cache.go cacheFilePath is
// DIR/.IdentityService/NAME, NAME.cae for CAE tokens; cache_linux.go DIR is $XDG_CACHE_HOME
// or ~/.cache; cache_windows.go DIR is %LOCALAPPDATA%; the extensions library adds
// NAME.lockfile). On macOS the tokens live in the keychain, where nothing is removed: without
// the record the tool never reads them again.
func cacheFiles(name string, getenv func(string) string) []string {
	var dir string
	switch runtime.GOOS {
	case "linux":
		if dir = getenv("XDG_CACHE_HOME"); dir == "" {
			home := getenv("HOME")
			if home == "" {
				return nil
			}
			dir = filepath.Join(home, ".cache")
		}
	case "windows":
		if dir = getenv("LOCALAPPDATA"); dir == "" {
			return nil
		}
	default:
		return nil
	}
	base := filepath.Join(dir, ".IdentityService", name)
	return []string{base, base + ".lockfile", base + ".cae", base + ".cae.lockfile"}
}
