package cli

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kingpin/v2"
)

// apiToken is a token as the server lists it; Token (the secret) only in
// the answer to create.
type apiToken struct {
	Created  time.Time  `json:"created"`
	Creator  string     `json:"creator"`
	Expires  *time.Time `json:"expires,omitempty"`
	ID       int64      `json:"id"`
	LastUsed *time.Time `json:"last_used,omitempty"`
	Name     string     `json:"name"`
	Role     string     `json:"role"`
	Token    string     `json:"token,omitempty"`
}

type tokenCmd struct {
	action     string
	name, role string
	expires    string
	id         int64
}

func registerToken(app *kingpin.Application, register func(string, command)) {
	tok := app.Command("token", "Create, list or revoke the API tokens of a beamctl server (admin); needs --server.")
	create := &tokenCmd{action: "create"}
	cc := tok.Command("create", "Create a token; its secret is printed once (store it in a file only you may read, for --token-file).")
	cc.Arg("name", "What the token is for (it is the identity in records: token:<name>).").Required().StringVar(&create.name)
	cc.Flag("role", "Its role: viewer, operator or admin.").Default("viewer").EnumVar(&create.role, "viewer", "operator", "admin")
	cc.Flag("expires", "Lifetime, e.g. 30d or 12h (empty: never expires).").StringVar(&create.expires)
	register(cc.FullCommand(), create)
	list := &tokenCmd{action: "list"}
	register(tok.Command("list", "List the tokens (never their secrets).").FullCommand(), list)
	revoke := &tokenCmd{action: "revoke"}
	rc := tok.Command("revoke", "Revoke a token: it stops working at once.")
	rc.Arg("id", "Token id (from token list).").Required().Int64Var(&revoke.id)
	register(rc.FullCommand(), revoke)
}

func (c *tokenCmd) run(ctx context.Context, e *env) error {
	if e.g.server == "" {
		return fmt.Errorf("tokens are kept by beamctl serve: give its URL with --server")
	}
	switch c.action {
	case "create":
		var t apiToken
		if err := e.apiPost(ctx, "/api/v1/tokens", url.Values{"name": {c.name}, "role": {c.role}, "expires": {c.expires}}, &t); err != nil {
			return err
		}
		if e.g.output == "json" {
			return writeJSON(e.stdout, t)
		}
		fmt.Fprintf(e.stdout, "Token %d %q (%s), shown only this once:\n%s\n", t.ID, t.Name, t.Role, t.Token)
		return nil
	case "revoke":
		var out struct {
			Revoked int64 `json:"revoked"`
		}
		if err := e.apiDelete(ctx, "/api/v1/tokens/"+strconv.FormatInt(c.id, 10), &out); err != nil {
			return err
		}
		if e.g.output == "json" {
			return writeJSON(e.stdout, out)
		}
		fmt.Fprintf(e.stdout, "Token %d revoked.\n", out.Revoked)
		return nil
	}
	var ts []apiToken
	if err := e.apiGet(ctx, "/api/v1/tokens", nil, &ts); err != nil {
		return err
	}
	if e.g.output == "json" {
		return writeJSON(e.stdout, ts)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tROLE\tCREATOR\tCREATED\tEXPIRES\tLAST USED")
	when := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.Local().Format(time.DateTime)
	}
	for _, t := range ts {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, t.Creator, t.Created.Local().Format(time.DateTime), when(t.Expires), when(t.LastUsed))
	}
	return tw.Flush()
}
