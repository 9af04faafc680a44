# bash completion for nexus, the Nexus command-line client.
# Install: copy to /usr/share/bash-completion/completions/nexus, or
#   source /path/to/nexus.bash
# Completes subcommands and flags; local paths where a command takes them.

_nexus() {
  local cur prev words cword
  if declare -F _init_completion >/dev/null 2>&1; then
    _init_completion || return
  else
    COMPREPLY=()
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
  fi

  local commands="login logout whoami ls mkdir put get rm mv cat du usage files node run"
  local global="--server --config --help"

  # The subcommand (and the node/files sub-subcommand), skipping global options.
  local i cmd="" sub=""
  for ((i = 1; i < cword; i++)); do
    case "${words[i]}" in
      --server|--config) ((i++)) ;;
      -*) ;;
      *)
        if [[ -z $cmd ]]; then
          cmd="${words[i]}"
        elif [[ -z $sub && ( $cmd == node || $cmd == files ) ]]; then
          sub="${words[i]}"
        fi
        ;;
    esac
  done

  case "$prev" in
    --config|--stdin) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --server|--memory|--disk|--cpu-shares|--timeout|--interval|-j|--jobs|--runtime|-u|--username|--email)
      return ;;
  esac

  local flags=""
  case "$cmd" in
    "") COMPREPLY=($(compgen -W "$commands $global" -- "$cur")); return ;;
    login) flags="--register --username --email" ;;
    whoami|usage) flags="--json" ;;
    ls) flags="-l --json" ;;
    mkdir) flags="-p" ;;
    rm) flags="-r --recursive" ;;
    du) flags="--json" ;;
    put|get) flags="-r --recursive -j --jobs --sync" ;;
    run) flags="--stdin --timeout --memory --runtime --json" ;;
    files)
      if [[ -z $sub ]]; then
        COMPREPLY=($(compgen -W "ls put get rm info" -- "$cur")); return
      fi
      flags="--json" ;;
    node)
      if [[ -z $sub ]]; then
        COMPREPLY=($(compgen -W "create ls info start stop rm exec metrics" -- "$cur")); return
      fi
      case "$sub" in
        create) flags="--memory --cpu-shares --disk --json" ;;
        exec) flags="--timeout" ;;
        metrics) flags="--watch --interval --json" ;;
        ls|info) flags="--json" ;;
      esac ;;
  esac

  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$flags --help" -- "$cur"))
    return
  fi
  # Local paths for the commands that read or write local files.
  case "$cmd" in
    put|get|run) COMPREPLY=($(compgen -f -- "$cur")) ;;
    files) [[ $sub == put || $sub == get ]] && COMPREPLY=($(compgen -f -- "$cur")) ;;
  esac
}

complete -F _nexus nexus
