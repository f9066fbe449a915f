/** `bsf completion bash|zsh`: commands, flags and their values; files where a file is expected. */
import { OPERATION_COMMANDS, OUTPUTS, type Shell } from './args.js';

const COMMANDS = [...OPERATION_COMMANDS, 'fleet', 'completion'];
const FLAGS = [
  '--credentials',
  '--option',
  '--notify',
  '--output',
  '--timeout',
  '--progress',
  '--no-progress',
  '--verbose',
  '--help',
  '--version',
];

const BASH = `# bsf completion for bash: eval "$(bsf completion bash)"
_bsf() {
  local cur prev
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${COMMANDS.join(' ')}" -- "$cur") )
    return
  fi
  case "$prev" in
    --output|-o) COMPREPLY=( $(compgen -W "${OUTPUTS.join(' ')}" -- "$cur") ); return ;;
    completion) COMPREPLY=( $(compgen -W "bash zsh" -- "$cur") ); return ;;
    --credentials|--option|--notify|--timeout) return ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "${FLAGS.join(' ')}" -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
}
complete -o filenames -F _bsf bsf
`;

const ZSH = `#compdef bsf
# bsf completion for zsh: eval "$(bsf completion zsh)" (after compinit)
_bsf() {
  _arguments -C \\
    '1:command:(${COMMANDS.join(' ')})' \\
    '--credentials[credentials reference]:reference:' \\
    '*--option[request option key=value]:option:' \\
    '*--notify[delivery target]:target:' \\
    {-o,--output}'[output format]:format:(${OUTPUTS.join(' ')})' \\
    '--timeout[seconds per invocation]:seconds:' \\
    '--progress[show progress]' \\
    '--no-progress[hide progress]' \\
    '*'{-v,--verbose}'[more logs on stderr]' \\
    '2:file:_files'
}
compdef _bsf bsf
`;

export function completionScript(shell: Shell): string {
  return shell === 'bash' ? BASH : ZSH;
}
