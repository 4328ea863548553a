package config

import (
	"fmt"
	"regexp"
)

// CaptureSettings are server-wide settings of what beamctl captures from
// nodes: the top-level capture block.
type CaptureSettings struct {
	// RedactShell are regular expressions (Go syntax, e.g.
	// '(?i)password\S*'); every match in a recorded shell command is
	// replaced by [REDACTED] before the command is stored or exported.
	RedactShell []string `yaml:"redact_shell"`

	redact []*regexp.Regexp
}

// validate checks that every pattern compiles.
func (c CaptureSettings) validate() error {
	for i, p := range c.RedactShell {
		if _, err := regexp.Compile(p); err != nil {
			return fmt.Errorf("capture.redact_shell[%d] %q is not a regular expression", i, p)
		}
	}
	return nil
}

// resolve compiles the valid patterns.
func (c *CaptureSettings) resolve() {
	c.redact = nil
	for _, p := range c.RedactShell {
		c.redact = append(c.redact, regexp.MustCompile(p))
	}
}

// ShellRedactions are the compiled redact_shell patterns.
func (c CaptureSettings) ShellRedactions() []*regexp.Regexp { return c.redact }
