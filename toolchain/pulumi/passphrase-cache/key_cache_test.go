// Added to package config of the Pulumi SDK by the eks-nginx toolchain, with key_cache.go: run by
// toolchain/pulumi/build.sh after it builds the CLI.

package config

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// cacheSetup makes a passphrase file holding phrase and points the environment at it and at a cache beside
// it, as scripts/pulumi-env.sh does. Returns the cache's path.
func cacheSetup(t *testing.T, phrase string) string {
	dir := t.TempDir()
	file := filepath.Join(dir, "passphrase")
	if err := os.WriteFile(file, []byte(phrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(dir, "passphrase-keys")
	t.Setenv("PULUMI_CONFIG_PASSPHRASE_FILE", file)
	t.Setenv(passphraseKeyCacheVar, cache)
	// t.Setenv then Unsetenv: restored after the test, unset during it.
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "")
	os.Unsetenv("PULUMI_CONFIG_PASSPHRASE")
	return cache
}

// counted is a derive function that counts its calls and returns a key made of b.
func counted(calls *int, b byte) func() []byte {
	return func() []byte {
		*calls++
		return bytes.Repeat([]byte{b}, SymmetricCrypterKeyBytes)
	}
}

func TestPassphraseKeyCacheKeepsTheKeyForTheNextRun(t *testing.T) {
	cache := cacheSetup(t, "phrase")
	calls := 0
	first := passphraseKey("phrase", []byte("salt"), counted(&calls, 1))
	info, err := os.Stat(cache)
	if err != nil {
		t.Fatalf("no cache written: %v", err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("cache mode %v, want 0600", info.Mode().Perm())
	}
	second := passphraseKey("phrase", []byte("salt"), counted(&calls, 2))
	if calls != 1 || !bytes.Equal(first, second) {
		t.Errorf("derived %d times (want 1), keys %x and %x", calls, first, second)
	}
	// Another salt (another stack) is another entry; the first stays.
	other := passphraseKey("phrase", []byte("other salt"), counted(&calls, 3))
	again := passphraseKey("phrase", []byte("salt"), counted(&calls, 4))
	if calls != 2 || other[0] != 3 || !bytes.Equal(again, first) {
		t.Errorf("derived %d times (want 2), keys %x, %x", calls, other, again)
	}
	data, _ := os.ReadFile(cache)
	if bytes.Contains(data, []byte("phrase")) || bytes.Contains(data, []byte("salt")) {
		t.Errorf("the cache says the phrase or the salt: %s", data)
	}
}

func TestPassphraseKeyCacheIsUsedOnlyWhenItAddsNothingToRead(t *testing.T) {
	cases := map[string]func(t *testing.T, cache string){
		"PULUMI_CONFIG_PASSPHRASE set": func(t *testing.T, _ string) { t.Setenv("PULUMI_CONFIG_PASSPHRASE", "phrase") },
		"no cache asked for":           func(t *testing.T, _ string) { t.Setenv(passphraseKeyCacheVar, "") },
		"the cache in another folder": func(t *testing.T, _ string) {
			t.Setenv(passphraseKeyCacheVar, filepath.Join(t.TempDir(), "passphrase-keys"))
		},
		"a phrase that is not the file's": func(t *testing.T, _ string) {
			if err := os.WriteFile(os.Getenv("PULUMI_CONFIG_PASSPHRASE_FILE"), []byte("another"), 0o600); err != nil {
				t.Fatal(err)
			}
		},
		"a cache others can read": func(t *testing.T, cache string) {
			if err := os.WriteFile(cache, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(cache, 0o644); err != nil {
				t.Fatal(err)
			}
		},
		"a cache that is a link": func(t *testing.T, cache string) {
			target := filepath.Join(filepath.Dir(cache), "elsewhere")
			if err := os.WriteFile(target, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, cache); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, setup := range cases {
		t.Run(name, func(t *testing.T) {
			cache := cacheSetup(t, "phrase")
			setup(t, cache)
			before, _ := os.Lstat(cache)
			calls := 0
			passphraseKey("phrase", []byte("salt"), counted(&calls, 1))
			passphraseKey("phrase", []byte("salt"), counted(&calls, 1))
			if calls != 2 {
				t.Errorf("derived %d times, want 2 (no cache)", calls)
			}
			if after, _ := os.Lstat(cache); (before == nil) != (after == nil) || (after != nil && after.Size() != before.Size()) {
				t.Errorf("the cache file was written")
			}
		})
	}
}

func TestPassphraseKeyCacheDerivesAgainForABrokenEntry(t *testing.T) {
	cache := cacheSetup(t, "phrase")
	calls := 0
	passphraseKey("phrase", []byte("salt"), counted(&calls, 1))
	if err := os.WriteFile(cache, []byte(passphraseKeyID("phrase", []byte("salt"))+" not-hex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if key := passphraseKey("phrase", []byte("salt"), counted(&calls, 5)); calls != 2 || key[0] != 5 {
		t.Errorf("derived %d times (want 2), key %x", calls, key)
	}
	if key := passphraseKey("phrase", []byte("salt"), counted(&calls, 6)); calls != 2 || key[0] != 5 {
		t.Errorf("the entry was not written again: derived %d times, key %x", calls, key)
	}
}

func TestPassphraseCrypterFromTheCacheDecryptsWhatPBKDF2sEncrypted(t *testing.T) {
	salt := []byte("a stack's salt")
	t.Setenv(passphraseKeyCacheVar, "")
	plain := NewSymmetricCrypterFromPassphrase("phrase", salt)
	secret, err := plain.EncryptValue(context.Background(), "pulumi")
	if err != nil {
		t.Fatal(err)
	}
	cacheSetup(t, "phrase")
	NewSymmetricCrypterFromPassphrase("phrase", salt) // derives and writes the cache
	cached := NewSymmetricCrypterFromPassphrase("phrase", salt)
	if got, err := cached.DecryptValue(context.Background(), secret); err != nil || got != "pulumi" {
		t.Errorf("decrypted %q, %v", got, err)
	}
}
