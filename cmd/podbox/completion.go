package main

import (
	"fmt"
	"strings"

	"github.com/podbox/podbox/sandbox"
	"github.com/urfave/cli/v2"
)

// Shell completion: `podbox completion bash|zsh|fish` prints a small script
// that, for each Tab, runs the hidden `podbox __complete WORD…` with the
// words typed after `podbox`, the last the one being completed (maybe
// empty), and offers the lines it prints. One Go function (completeWords)
// knows the commands, their flags and which take a pod; the three scripts
// only pass words and fall back to file names when nothing is printed
// (after -f, for instance). Pod names come from the directory entries ps
// reads and container names from the pod's saved manifest: no user
// namespace, no store, no control socket, so a Tab is fast and never starts
// or collects anything. urfave/cli's own --generate-bash-completion knows
// neither flag values nor positional arguments after flags, and only bash.

// podCommands take pod names as positional arguments; the value is how
// many (0: any number).
var podCommands = map[string]int{
	"down": 0, "logs": 1, "exec": 1, "describe": 1, "get": 1, "port-forward": 1, "cp": 2,
}

// flagValues are the values offered after a flag that takes one of a few.
var flagValues = map[string][]string{
	"ps/output":  {"wide", "json", "yaml", "name"},
	"get/output": {"wide", "json", "yaml", "name"},
	"log-level":  {"debug", "info", "warn", "error"},
}

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script: commands, flags, pod and container names",
		ArgsUsage: "bash | zsh | fish",
		Description: "Load it in the current shell, or install it for every new one:\n\n" +
			"  bash:  source <(podbox completion bash)\n" +
			"         podbox completion bash > ~/.local/share/bash-completion/completions/podbox\n" +
			"  zsh:   source <(podbox completion zsh)\n" +
			"         podbox completion zsh > \"${fpath[1]}/_podbox\"   (then: compinit)\n" +
			"  fish:  podbox completion fish | source\n" +
			"         podbox completion fish > ~/.config/fish/completions/podbox.fish",
		Action: func(c *cli.Context) error {
			script, ok := completionScripts[c.Args().First()]
			if c.NArg() != 1 || !ok {
				return fmt.Errorf("completion: usage: podbox completion bash|zsh|fish")
			}
			_, err := fmt.Fprint(c.App.Writer, script)
			return err
		},
	}
}

// completeCommand is the hidden `__complete WORD…` the scripts run.
func completeCommand() *cli.Command {
	return &cli.Command{
		Name:            "__complete",
		Hidden:          true,
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			for _, w := range completeWords(c.App, c.Args().Slice()) {
				fmt.Fprintln(c.App.Writer, w)
			}
			return nil
		},
	}
}

// completeWords returns the candidates for the last of words (the words
// after `podbox`), unfiltered: the shell keeps those that start with what
// was typed. Empty means "file names".
func completeWords(app *cli.App, words []string) []string {
	if len(words) == 0 {
		words = []string{""}
	}
	cur := words[len(words)-1]
	flags, cmds := app.Flags, app.Commands
	var cmd *cli.Command
	path := "" // "get", "image/pull"
	var pos []string
	dashdash := false
	prev := "" // a flag waiting for its value
	for _, w := range words[:len(words)-1] {
		switch {
		case prev != "":
			prev = ""
		case dashdash:
			pos = append(pos, w)
		case w == "--":
			dashdash = true
		case strings.HasPrefix(w, "-") && w != "-":
			if takesValue(flags, w) {
				prev = w
			}
		case len(pos) == 0 && (cmd == nil || len(cmd.Subcommands) > 0) && findCommand(cmds, w) != nil:
			cmd = findCommand(cmds, w)
			flags, cmds = cmd.Flags, cmd.Subcommands
			path = strings.TrimPrefix(path+"/"+cmd.Name, "/")
		default:
			pos = append(pos, w)
		}
	}
	switch {
	case prev != "":
		name := flagName(flags, prev)
		if name == "container" && len(pos) > 0 {
			return sandbox.ContainerNamesForCompletion(podOf(path, pos))
		}
		if v, ok := flagValues[path+"/"+name]; ok {
			return v
		}
		return flagValues[name]
	case dashdash:
		return nil
	case strings.HasPrefix(cur, "-"):
		return flagNames(flags)
	case cmd == nil || len(cmd.Subcommands) > 0:
		if len(pos) > 0 {
			return nil
		}
		var out []string
		for _, c := range cmds {
			if !c.Hidden {
				out = append(out, c.Name)
			}
		}
		return out
	case path == "completion" && len(pos) == 0:
		return []string{"bash", "zsh", "fish"}
	}
	n, ok := podCommands[path]
	if !ok {
		return nil
	}
	if path == "get" || path == "describe" {
		// kubectl's `get pod NAME`, or podbox's `get NAME`.
		if len(pos) == 0 {
			return append([]string{"pod", "pods"}, sandbox.PodNamesForCompletion()...)
		}
		if len(pos) == 1 && (pos[0] == "pod" || pos[0] == "pods" || pos[0] == "po") {
			return sandbox.PodNamesForCompletion()
		}
		return nil
	}
	if path == "cp" {
		// cp POD:PATH LOCAL or LOCAL POD:PATH: a pod name and its colon,
		// else (a path being typed) file names.
		if strings.Contains(cur, ":") || strings.HasPrefix(cur, "/") || strings.HasPrefix(cur, ".") {
			return nil
		}
		var out []string
		for _, p := range sandbox.PodNamesForCompletion() {
			out = append(out, p+":")
		}
		return out
	}
	if n != 0 && len(pos) >= n {
		return nil
	}
	return sandbox.PodNamesForCompletion()
}

// podOf is the pod a command line names, for -c: the first positional
// argument, after `pod` for get and describe, before the colon for cp.
func podOf(path string, pos []string) string {
	p := pos[0]
	if (path == "get" || path == "describe") && len(pos) > 1 && (p == "pod" || p == "pods" || p == "po") {
		p = pos[1]
	}
	p = strings.TrimPrefix(strings.TrimPrefix(p, "pod/"), "pods/")
	if path == "cp" {
		for _, a := range pos {
			if name, _, ok := strings.Cut(a, ":"); ok {
				return name
			}
		}
	}
	return p
}

// flagName is the long name of the flag that argument a (-c, --container)
// is, "" if none.
func flagName(flags []cli.Flag, a string) string {
	name := strings.TrimLeft(a, "-")
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f.Names()[0]
			}
		}
	}
	return ""
}

// flagNames are the visible flags as typed: --long, and -x for a one-letter
// alias.
func flagNames(flags []cli.Flag) []string {
	var out []string
	for _, f := range flags {
		if vf, ok := f.(cli.VisibleFlag); ok && !vf.IsVisible() {
			continue
		}
		for _, n := range f.Names() {
			if len(n) == 1 {
				out = append(out, "-"+n)
			} else {
				out = append(out, "--"+n)
			}
		}
	}
	return out
}

// completionScripts are the scripts `podbox completion` prints. Each
// passes the words after `podbox` up to the cursor to `podbox __complete`
// and falls back to file names when it prints nothing.
var completionScripts = map[string]string{
	"bash": `# podbox completion for bash: source <(podbox completion bash)
_podbox() {
    # The words up to the cursor, split at blanks only: bash's own
    # COMP_WORDS also breaks at : and =, which cp POD:PATH needs whole.
    local line=${COMP_LINE:0:COMP_POINT}
    local -a words cands
    read -ra words <<<"$line"
    [[ $line =~ [[:space:]]$ ]] && words+=("")
    local cur=${words[-1]} word=${COMP_WORDS[COMP_CWORD]}
    mapfile -t cands < <(podbox __complete "${words[@]:1}" 2>/dev/null)
    local IFS=$'\n'
    mapfile -t COMPREPLY < <(compgen -W "${cands[*]}" -- "$cur")
    # Bash replaces only its own word, after the last : or =.
    local strip=${cur%"$word"}
    [[ -n $strip ]] && COMPREPLY=("${COMPREPLY[@]#"$strip"}")
    if [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *: ]]; then
        compopt -o nospace 2>/dev/null
    fi
}
complete -o default -o bashdefault -F _podbox podbox
`,
	"zsh": `#compdef podbox
# podbox completion for zsh: source <(podbox completion zsh)
_podbox() {
    local -a cands
    cands=("${(@f)$(podbox __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    cands=(${cands:#})
    if (( ${#cands} )); then
        local -a colon=(${(M)cands:#*:})
        if (( ${#colon} == ${#cands} )); then
            compadd -S '' -a cands
        else
            compadd -a cands
        fi
    else
        _files
    fi
}
# Autoloaded from $fpath as _podbox: complete now; sourced: register.
if [[ $funcstack[1] == _podbox ]]; then
    _podbox "$@"
else
    compdef _podbox podbox
fi
`,
	"fish": `# podbox completion for fish: podbox completion fish | source
function __podbox_complete
    set -l words (commandline -opc)
    set -e words[1]
    set -l cands (podbox __complete $words (commandline -ct) 2>/dev/null)
    if test (count $cands) -gt 0
        printf '%s\n' $cands
    else
        __fish_complete_path (commandline -ct)
    end
end
complete -c podbox -f -a '(__podbox_complete)'
`,
}
