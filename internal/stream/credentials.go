package stream

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// The lines of a credentials file, named after the variables of the flags
// --nats-user and --nats-password: the file is an environment file that
// systemd (EnvironmentFile=) and docker (--env-file) read as it is.
const (
	userVar     = "NEWSFLASH_NATS_USER"
	passwordVar = "NEWSFLASH_NATS_PASSWORD"
)

// GeneratedUser is the user name of generated credentials.
const GeneratedUser = "newsflash"

// ReadCredentials reads the user and password of a credentials file.
func ReadCredentials(path string) (user, password string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		switch k, v, _ := strings.Cut(line, "="); k {
		case userVar:
			user = v
		case passwordVar:
			password = v
		}
	}
	if err := sc.Err(); err != nil {
		return "", "", fmt.Errorf("read %s: %w", path, err)
	}
	if user == "" || password == "" {
		return "", "", fmt.Errorf("%s lacks %s or %s: delete it to generate new credentials (and give the new ones to every instance that joins)", path, userVar, passwordVar)
	}
	return user, password, nil
}

// loadCredentials reads the credentials file, or generates credentials
// and writes it. It logs the file's path, never its content.
func loadCredentials(path string, log *slog.Logger) (user, password string, err error) {
	user, password, err = ReadCredentials(path)
	if err == nil {
		if fi, err := os.Stat(path); err == nil && runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
			log.Warn("the NATS credentials file is readable by other users: chmod 600 it", "file", path, "mode", fi.Mode().Perm().String())
		}
		log.Info("the embedded NATS client port takes the user and password of the credentials file", "file", path)
		return user, password, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", "", err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", "", err
	}
	user, password = GeneratedUser, base64.RawURLEncoding.EncodeToString(key)
	content := "# The user and password of the embedded NATS client port (--nats-listen),\n" +
		"# generated on the first start. Instances and tools that join it give them\n" +
		"# as --nats-user and --nats-password, or in nats://USER:PASSWORD@HOST:PORT.\n" +
		userVar + "=" + user + "\n" + passwordVar + "=" + password + "\n"
	if err := writePrivate(path, []byte(content)); err != nil {
		return "", "", err
	}
	log.Info("the embedded NATS client port requires a user and password: generated them into the credentials file; instances and tools that join need them",
		"file", path)
	return user, password, nil
}

// writePrivate writes a file of mode 0600 whole or not at all.
func writePrivate(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*") // mode 0600
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
