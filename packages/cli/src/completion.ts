/**
 * `sfx completion bash|zsh|fish`: shell completion scripts generated from the commander program
 * itself (commands, subcommands, options and option choices), so they never lag behind it.
 */
import { type Command, InvalidArgumentError, type Option } from 'commander';

interface Node {
  /** Space-separated command path under `sfx` ('' for sfx itself). */
  path: string;
  commands: Array<{ name: string; description: string }>;
  options: Array<{ flags: string[]; description: string; takesValue: boolean; choices?: readonly string[] }>;
}

/** Every command of the program, depth first, with what may follow it. */
export function commandTree(program: Command): Node[] {
  const nodes: Node[] = [];
  const walk = (cmd: Command, path: string): void => {
    const help = cmd.createHelp();
    const subs = help.visibleCommands(cmd);
    nodes.push({
      path,
      commands: subs.flatMap((c) => [c.name(), ...c.aliases()].map((name) => ({ name, description: firstLine(c.description()) }))),
      options: help.visibleOptions(cmd).map((o: Option) => ({
        flags: [o.short, o.long].filter((f): f is string => Boolean(f)),
        description: firstLine(o.description),
        takesValue: o.required || o.optional,
        ...(o.argChoices ? { choices: o.argChoices } : {}),
      })),
    });
    for (const sub of cmd.commands) walk(sub, path ? `${path} ${sub.name()}` : sub.name());
  };
  walk(program, '');
  return nodes;
}

const firstLine = (text: string): string => (text.split('\n')[0] ?? '').trim();

/** Single-quoted for sh: no expansion inside. */
const sq = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

export function bashScript(program: Command): string {
  const nodes = commandTree(program);
  const cases = (pick: (n: Node) => string): string =>
    nodes.map((n) => `    ${sq(n.path)}) echo ${sq(pick(n))} ;;`).join('\n');
  const choiceCases = nodes
    .flatMap((n) => n.options.filter((o) => o.choices).flatMap((o) => o.flags.map((f) => `    ${sq(`${n.path}|${f}`)}) echo ${sq(o.choices!.join(' '))} ;;`)))
    .join('\n');
  const valued = nodes
    .flatMap((n) => n.options.filter((o) => o.takesValue).flatMap((o) => o.flags.map((f) => `${n.path}|${f}`)))
    .map(sq)
    .join(' ');
  return `# bash completion for sfx. Load it now:   source <(sfx completion bash)
# or for every shell:                       sfx completion bash > ~/.local/share/bash-completion/completions/sfx
_sfx_commands() {
  case "$1" in
${cases((n) => n.commands.map((c) => c.name).join(' '))}
  esac
}
_sfx_options() {
  case "$1" in
${cases((n) => n.options.flatMap((o) => o.flags).join(' '))}
  esac
}
_sfx_choices() {
  case "$1" in
${choiceCases}
  esac
}
_sfx_valued=(${valued})
_sfx_takes_value() {
  local v
  for v in "\${_sfx_valued[@]}"; do [[ "$v" == "$1" ]] && return 0; done
  return 1
}
_sfx() {
  local cur prev cmdpath word i subs choices
  cur="\${COMP_WORDS[COMP_CWORD]}"
  cmdpath=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    if [[ "$word" == -* ]]; then
      # An option that takes a value: skip the value too.
      [[ "$word" != *=* ]] && _sfx_takes_value "$cmdpath|$word" && ((i++))
      continue
    fi
    subs=" $(_sfx_commands "$cmdpath") "
    [[ "$subs" == *" $word "* ]] && cmdpath="\${cmdpath:+$cmdpath }$word"
  done
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [[ "$prev" == -* ]] && _sfx_takes_value "$cmdpath|$prev"; then
    choices="$(_sfx_choices "$cmdpath|$prev")"
    if [[ -n "$choices" ]]; then COMPREPLY=($(compgen -W "$choices" -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
    return 0
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(_sfx_options "$cmdpath")" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$(_sfx_commands "$cmdpath")" -- "$cur"))
    # No subcommand fits: a path or a file name does (folders, flow files, uploads).
    [[ \${#COMPREPLY[@]} -eq 0 ]] && COMPREPLY=($(compgen -f -- "$cur"))
  fi
  return 0
}
complete -o filenames -F _sfx sfx
`;
}

export function zshScript(program: Command): string {
  const nodes = commandTree(program);
  const entry = (name: string, description: string): string => sq(`${name.replace(/:/g, '\\:')}:${description}`);
  const cases = nodes
    .map(
      (n) =>
        `    ${sq(n.path)})\n      subs=(${n.commands.map((c) => entry(c.name, c.description)).join(' ')})\n      opts=(${n.options
          .flatMap((o) => o.flags.map((f) => entry(f, o.description)))
          .join(' ')}) ;;`,
    )
    .join('\n');
  const choiceCases = nodes
    .flatMap((n) => n.options.filter((o) => o.choices).flatMap((o) => o.flags.map((f) => `    ${sq(`${n.path}|${f}`)}) choices=(${o.choices!.map(sq).join(' ')}) ;;`)))
    .join('\n');
  const valued = nodes
    .flatMap((n) => n.options.filter((o) => o.takesValue).flatMap((o) => o.flags.map((f) => `${n.path}|${f}`)))
    .map(sq)
    .join(' ');
  return `#compdef sfx
# zsh completion for sfx. Load it now:  source <(sfx completion zsh)
# or put it on $fpath as _sfx:           sfx completion zsh > "\${fpath[1]}/_sfx"
_sfx_valued=(${valued})
_sfx() {
  local cmdpath="" word prev i
  local -a subs opts choices
  for ((i = 2; i < CURRENT; i++)); do
    word="\${words[i]}"
    if [[ "$word" == -* ]]; then
      [[ "$word" != *=* && \${_sfx_valued[(Ie)$cmdpath|$word]} -gt 0 ]] && ((i++))
      continue
    fi
    _sfx_node "$cmdpath"
    (( \${subs[(I)$word:*]} )) && cmdpath="\${cmdpath:+$cmdpath }$word"
  done
  prev="\${words[CURRENT-1]}"
  if [[ "$prev" == -* && \${_sfx_valued[(Ie)$cmdpath|$prev]} -gt 0 ]]; then
    case "$cmdpath|$prev" in
${choiceCases}
    esac
    if (( \${#choices} )); then compadd -- "\${choices[@]}"; else _files; fi
    return
  fi
  _sfx_node "$cmdpath"
  if [[ "\${words[CURRENT]}" == -* ]]; then
    _describe -t options 'option' opts
  elif (( \${#subs} )); then
    _describe -t commands 'command' subs
  else
    _files
  fi
}
_sfx_node() {
  subs=() opts=()
  case "$1" in
${cases}
  esac
}
if [[ "$funcstack[1]" == _sfx ]]; then _sfx "$@"; else compdef _sfx sfx; fi
`;
}

export function fishScript(program: Command): string {
  const nodes = commandTree(program);
  const lines = [
    '# fish completion for sfx. Load it now:  sfx completion fish | source',
    '# or for every shell:                    sfx completion fish > ~/.config/fish/completions/sfx.fish',
    'complete -c sfx -e',
    'complete -c sfx -f',
    `function __sfx_path
    set -l subs ${nodes.map((n) => sq(`${n.path}|${n.commands.map((c) => c.name).join(' ')}`)).join(' ')}
    set -l cmdpath ''
    for word in (commandline -opc)[2..-1]
        string match -q -- '-*' $word; and continue
        for entry in $subs
            set -l parts (string split -m1 '|' -- $entry)
            if test "$parts[1]" = "$cmdpath"; and contains -- $word (string split ' ' -- $parts[2])
                set cmdpath (string trim -- "$cmdpath $word")
                break
            end
        end
    end
    echo $cmdpath
end`,
    `function __sfx_is
    set -l here (__sfx_path)
    test "x$here" = "x$argv[1]"
end`,
  ];
  for (const n of nodes) {
    const when = `-n ${sq(`__sfx_is "${n.path}"`)}`;
    for (const c of n.commands) lines.push(`complete -c sfx ${when} -a ${sq(c.name)} -d ${sq(c.description)}`);
    for (const o of n.options) {
      const flags = o.flags.map((f) => (f.startsWith('--') ? `-l ${sq(f.slice(2))}` : `-s ${sq(f.slice(1))}`)).join(' ');
      const value = o.choices ? ` -x -a ${sq(o.choices.join(' '))}` : o.takesValue ? ' -r -F' : '';
      lines.push(`complete -c sfx ${when} ${flags}${value} -d ${sq(o.description)}`);
    }
    // Arguments that are not subcommands (paths, flow files) are file names.
    if (n.commands.length === 0) lines.push(`complete -c sfx ${when} -F`);
  }
  return `${lines.join('\n')}\n`;
}

const SCRIPTS = { bash: bashScript, zsh: zshScript, fish: fishScript } as const;

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('Print a shell completion script for bash, zsh or fish')
    .argument('<shell>', 'bash, zsh or fish', (value: string) => {
      if (!Object.hasOwn(SCRIPTS, value)) throw new InvalidArgumentError('the shell must be bash, zsh or fish.');
      return value as keyof typeof SCRIPTS;
    })
    .addHelpText(
      'after',
      `
Examples:
  source <(sfx completion bash)                                   # bash, this shell
  sfx completion bash > ~/.local/share/bash-completion/completions/sfx
  sfx completion zsh > "\${fpath[1]}/_sfx"                          # zsh (then restart it)
  sfx completion fish > ~/.config/fish/completions/sfx.fish       # fish`,
    )
    .action((shell: keyof typeof SCRIPTS) => {
      // The root program: completion covers every command, including ones registered after this one.
      let root = program;
      while (root.parent) root = root.parent;
      process.stdout.write(SCRIPTS[shell](root));
    });
}
