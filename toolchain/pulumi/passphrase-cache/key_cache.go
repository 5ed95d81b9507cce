// Added to package config of the Pulumi SDK (sdk/v3/go/common/resource/config) by the eks-nginx toolchain:
// toolchain/pulumi/build.sh builds the CLI with this file and crypt.patch laid over the module's sources
// (go build -overlay). README.md beside it says why.

package config

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// passphraseKeyCacheVar names the file that keeps the keys derived from the passphrase in
// $PULUMI_CONFIG_PASSPHRASE_FILE. scripts/pulumi-env.sh sets it beside the passphrase file it makes.
const passphraseKeyCacheVar = "EKS_NGINX_PASSPHRASE_KEY_CACHE"

// passphraseKey is derive() (PBKDF2 of phrase and salt, 1,000,000 rounds of SHA-256: a quarter of a second of
// CPU), kept in the cache file for the next run when all of these hold, and derive() alone otherwise:
//   - $EKS_NGINX_PASSPHRASE_KEY_CACHE names a file in the folder of $PULUMI_CONFIG_PASSPHRASE_FILE;
//   - $PULUMI_CONFIG_PASSPHRASE is unset, and phrase is that file's contents, as Pulumi reads them (trimmed):
//     the passphrase came from the file, so whoever can read the cache can read the passphrase already;
//   - the cache file, when it exists, is a regular file of this user's, readable by nobody else.
//
// An entry is the SHA-256 of a label, the salt and the phrase, then the key, both in hex. An entry that is
// missing or unreadable is derived again and written (mode 0600, through a temporary file renamed over the
// old one). A key that does not match the stack is refused by Pulumi's own check of it, as a wrong
// passphrase.
func passphraseKey(phrase string, salt []byte, derive func() []byte) []byte {
	cache, ok := passphraseKeyCache(phrase)
	if !ok {
		return derive()
	}
	id := passphraseKeyID(phrase, salt)
	entries := readPassphraseKeys(cache)
	if key, err := hex.DecodeString(entries[id]); err == nil && len(key) == SymmetricCrypterKeyBytes {
		return key
	}
	key := derive()
	entries[id] = hex.EncodeToString(key)
	writePassphraseKeys(cache, entries)
	return key
}

// passphraseKeyCache is the cache file, when the conditions of passphraseKey hold.
func passphraseKeyCache(phrase string) (string, bool) {
	cache, passphraseFile := os.Getenv(passphraseKeyCacheVar), os.Getenv("PULUMI_CONFIG_PASSPHRASE_FILE")
	if _, set := os.LookupEnv("PULUMI_CONFIG_PASSPHRASE"); set || cache == "" || passphraseFile == "" {
		return "", false
	}
	cache, err := filepath.Abs(cache)
	if err != nil {
		return "", false
	}
	passphraseFile, err = filepath.Abs(passphraseFile)
	if err != nil || filepath.Dir(cache) != filepath.Dir(passphraseFile) || cache == passphraseFile {
		return "", false
	}
	contents, err := os.ReadFile(passphraseFile)
	if err != nil || strings.TrimSpace(string(contents)) != phrase {
		return "", false
	}
	if info, err := os.Lstat(cache); err == nil {
		if !info.Mode().IsRegular() || info.Mode().Perm()&0o077 != 0 {
			return "", false
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
			return "", false
		}
	} else if !os.IsNotExist(err) {
		return "", false
	}
	return cache, true
}

// passphraseKeyID names a phrase and salt's entry without saying either.
func passphraseKeyID(phrase string, salt []byte) string {
	h := sha256.New()
	h.Write([]byte("eks-nginx passphrase key v1\x00"))
	h.Write([]byte(hex.EncodeToString(salt) + "\x00" + phrase))
	return hex.EncodeToString(h.Sum(nil))
}

// readPassphraseKeys reads the cache's entries ("<id> <key>" lines); none when it is missing or unreadable.
func readPassphraseKeys(cache string) map[string]string {
	entries := map[string]string{}
	data, err := os.ReadFile(cache)
	if err != nil {
		return entries
	}
	for _, line := range strings.Split(string(data), "\n") {
		if id, key, ok := strings.Cut(strings.TrimSpace(line), " "); ok {
			entries[id] = key
		}
	}
	return entries
}

// writePassphraseKeys writes the entries, or nothing when it cannot (the next run derives the key again).
func writePassphraseKeys(cache string, entries map[string]string) {
	tmp, err := os.CreateTemp(filepath.Dir(cache), filepath.Base(cache)+".*.tmp")
	if err != nil {
		return
	}
	defer os.Remove(tmp.Name())
	var b strings.Builder
	for id, key := range entries {
		b.WriteString(id + " " + key + "\n")
	}
	// CreateTemp makes the file with mode 0600.
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		return
	}
	if tmp.Close() != nil {
		return
	}
	_ = os.Rename(tmp.Name(), cache)
}
