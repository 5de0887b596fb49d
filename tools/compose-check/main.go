// compose-check validates compose files the way Docker Compose loads them: compose-go (the library
// `docker compose` itself uses) parses, interpolates and checks each file against the Compose
// Specification's JSON schema, then resolves the project (services, volumes, configs, dependencies).
//
//	compose-check compose.yaml [more.yaml…]
//
// Variables the file requires (${VAR:?…}) must be set in the environment, as for `docker compose config`.
// Prints the services it resolved; exits 1 with compose-go's message on the first problem.
package main

import (
	"context"
	"fmt"
	"os"
	"sort"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: compose-check compose.yaml [more.yaml…]")
		os.Exit(2)
	}
	opts, err := cli.NewProjectOptions(os.Args[1:], cli.WithOsEnv, cli.WithName("compose-check"))
	if err != nil {
		fail(err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	names := project.ServiceNames()
	sort.Strings(names)
	for _, name := range names {
		s := project.Services[name]
		fmt.Printf("%s\timage=%s\tcommand=%q\n", name, s.Image, []string(s.Command))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "compose-check:", err)
	os.Exit(1)
}
