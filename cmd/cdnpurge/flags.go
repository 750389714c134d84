package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/cdnpurge/cdnpurge/internal/config"
)

// The flag helpers of every subcommand, and the flags that say where
// invalidate, status and list act.

// newFlagSet returns a FlagSet for a subcommand that reports its own errors
// through run.
func newFlagSet(name string, e env) *flag.FlagSet {
	fs := flag.NewFlagSet("cdnpurge "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// parseFlags parses args and refuses stray positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}

// parseInterspersed parses flags and positional arguments in any order, as
// people write them (`invalidate /a --wait`); after "--" everything is
// positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// setUsage makes -h print the synopsis, a description and the flags.
func setUsage(fs *flag.FlagSet, synopsis, about string) {
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s\n\n%s\n\nFlags:\n", synopsis, about)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), "\nExit codes: 0 success, 1 other failure (e.g. configuration), 2 usage mistake,\n"+
			"3 input refused, 4 CDN error, 5 --wait timed out.\n")
	}
}

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// cliWhere holds the flags that say what to purge: --distribution or
// --target.
type cliWhere struct{ dist, target *string }

// whereFlags adds --distribution and --target to fs.
func whereFlags(fs *flag.FlagSet) cliWhere {
	return cliWhere{
		dist:   fs.String("distribution", "", "CloudFront distribution ID (default $"+config.EnvDistributionID+")"),
		target: fs.String("target", "", "a target of the targets file ($"+config.EnvConfigFile+" or $"+config.EnvConfigYAML+"): its distribution or tenant (with its role_arn), zone, service or cache"),
	}
}

// check refuses a --distribution that cannot be an ID, and both flags at
// once.
func (w cliWhere) check() error {
	switch d := *w.dist; {
	case d != "" && *w.target != "":
		return fmt.Errorf("%w: give --distribution or --target, not both", errUsage)
	case d != "" && !config.IsDistributionID(d):
		return fmt.Errorf("%w: --distribution %q is not a distribution ID (upper-case letters and digits, e.g. E2QWRUHEXAMPLE)", errUsage, d)
	}
	return nil
}

// statusCommand is the command that shows invalidation id later, on the
// same target: with the same --target or --distribution as this one.
func (w cliWhere) statusCommand(id string) string {
	switch {
	case *w.target != "":
		return fmt.Sprintf("cdnpurge status --target %s %s", *w.target, id)
	case *w.dist != "":
		return fmt.Sprintf("cdnpurge status --distribution %s %s", *w.dist, id)
	}
	return "cdnpurge status " + id
}
