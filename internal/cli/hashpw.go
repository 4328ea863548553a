package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/alecthomas/kingpin/v2"
	"golang.org/x/crypto/bcrypt"
)

// passwordIn is where hash-password reads the password (a variable for tests).
var passwordIn io.Reader = os.Stdin

// hashPasswordCmd prints the bcrypt hash of a password for the
// basic_auth_users of --web.config.file, so no other tool (htpasswd,
// python's bcrypt) is needed. The password is read from standard input,
// never from an argument, which ps would show.
type hashPasswordCmd struct {
	cost int
}

func registerHashPassword(app *kingpin.Application, register func(string, command)) {
	c := &hashPasswordCmd{}
	cmd := app.Command("hash-password", "Print the bcrypt hash of the password read from standard input (one line), "+
		"for basic_auth_users in --web.config.file.")
	cmd.Flag("cost", "bcrypt cost (10 as htpasswd -B; each step doubles the work of a check).").Default("10").IntVar(&c.cost)
	register(cmd.FullCommand(), c)
}

func (c *hashPasswordCmd) run(_ context.Context, e *env) error {
	if c.cost < bcrypt.MinCost || c.cost > bcrypt.MaxCost {
		return fmt.Errorf("--cost must be from %d to %d, not %d", bcrypt.MinCost, bcrypt.MaxCost, c.cost)
	}
	line, err := bufio.NewReader(io.LimitReader(passwordIn, 1024)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read the password from standard input: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return errors.New("no password on standard input (e.g. read -rs PW; echo \"$PW\" | beamctl hash-password)")
	}
	if len(pw) > 72 {
		return errors.New("the password is longer than 72 bytes, bcrypt's limit")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), c.cost)
	if err != nil {
		return fmt.Errorf("hash the password: %w", err)
	}
	if e.g.output == "json" {
		return writeJSON(e.stdout, map[string]string{"hash": string(h)})
	}
	fmt.Fprintln(e.stdout, string(h))
	return nil
}
