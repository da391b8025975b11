# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_headroom_global_optspecs
    string join \n h/help V/version
end

function __fish_headroom_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_headroom_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_headroom_using_subcommand
    set -l cmd (__fish_headroom_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c headroom -n "__fish_headroom_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c headroom -n "__fish_headroom_needs_command" -s V -l version -d 'Print version'
complete -c headroom -n "__fish_headroom_needs_command" -f -a "proxy" -d 'Run the forwarding proxy in the foreground'
complete -c headroom -n "__fish_headroom_needs_command" -f -a "wrap" -d 'Run a coding agent through an in-process proxy'
complete -c headroom -n "__fish_headroom_needs_command" -f -a "usage" -d 'Show the tokens and cost of the requests headroom forwarded'
complete -c headroom -n "__fish_headroom_needs_command" -f -a "completions" -d 'Print a shell completion script to stdout'
complete -c headroom -n "__fish_headroom_needs_command" -f -a "man" -d 'Write the man pages into a directory'
complete -c headroom -n "__fish_headroom_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c headroom -n "__fish_headroom_using_subcommand proxy" -l host -d 'Address to listen on. Anything but loopback needs --allow-upstream or --allow-any-upstream' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand proxy" -l port -d 'Port to listen on; 0 picks a free one (the real port is printed)' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand proxy" -l openai-upstream -d 'Default upstream for OpenAI-style and unknown paths' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand proxy" -l anthropic-upstream -d 'Default upstream for /v1/messages*' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand proxy" -l gemini-upstream -d 'Default upstream for /v1beta/*' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand proxy" -l allow-upstream -d 'Only forward to this origin (scheme://host[:port]); repeatable. Other upstreams get 403' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand proxy" -l compress -d 'How tool outputs in requests are compressed: off; safe (lossless clean-up, repeats as references, long command output cut with the whole kept in a spill file); aggressive (safe, plus stale outputs elided in rare batches). A request\'s X-Headroom-Compress overrides it' -r -f -a "off\t''
safe\t''
aggressive\t''"
complete -c headroom -n "__fish_headroom_using_subcommand proxy" -l spill-dir -d 'Where cut and elided tool outputs are kept whole [default: $XDG_STATE_HOME/headroom/spill]' -r -f -a "(__fish_complete_directories)"
complete -c headroom -n "__fish_headroom_using_subcommand proxy" -l spill-retention -d 'Spill files older than this are removed at start (e.g. 7d, 12h)' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand proxy" -l connect-timeout -d 'Give up connecting to an upstream after this long (e.g. 10s, 500ms)' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand proxy" -l idle-timeout -d 'End an exchange with an upstream that moves no bytes either way for this long' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand proxy" -l log-level -d 'Log level [default: info, or RUST_LOG]' -r -f -a "error\t''
warn\t''
info\t''
debug\t''
trace\t''
off\t''"
complete -c headroom -n "__fish_headroom_using_subcommand proxy" -l log-format -d 'Log line format' -r -f -a "text\t''
json\t''"
complete -c headroom -n "__fish_headroom_using_subcommand proxy" -l allow-any-upstream -d 'Forward to any upstream, even when listening beyond loopback'
complete -c headroom -n "__fish_headroom_using_subcommand proxy" -l no-ledger -d 'Record no usage in the ledger that headroom usage reads ($XDG_STATE_HOME/headroom/usage.db)'
complete -c headroom -n "__fish_headroom_using_subcommand proxy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and not __fish_seen_subcommand_from opencode claude codex aider qwen kilo gemini help" -l json -d 'Without an agent: print the list of agents as JSON'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and not __fish_seen_subcommand_from opencode claude codex aider qwen kilo gemini help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and not __fish_seen_subcommand_from opencode claude codex aider qwen kilo gemini help" -f -a "opencode" -d 'Run opencode with every provider routed through one in-process proxy'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and not __fish_seen_subcommand_from opencode claude codex aider qwen kilo gemini help" -f -a "claude" -d 'Run Claude Code with its requests routed through one in-process proxy'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and not __fish_seen_subcommand_from opencode claude codex aider qwen kilo gemini help" -f -a "codex" -d 'Run Codex with its requests routed through one in-process proxy'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and not __fish_seen_subcommand_from opencode claude codex aider qwen kilo gemini help" -f -a "aider" -d 'Run Aider with its requests routed through one in-process proxy'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and not __fish_seen_subcommand_from opencode claude codex aider qwen kilo gemini help" -f -a "qwen" -d 'Run Qwen Code with its requests routed through one in-process proxy'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and not __fish_seen_subcommand_from opencode claude codex aider qwen kilo gemini help" -f -a "kilo" -d 'Run Kilo with every provider routed through one in-process proxy'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and not __fish_seen_subcommand_from opencode claude codex aider qwen kilo gemini help" -f -a "gemini" -d 'Run Gemini CLI with its requests routed through one in-process proxy'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and not __fish_seen_subcommand_from opencode claude codex aider qwen kilo gemini help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from opencode" -l opencode-bin -d 'The opencode binary [default: opencode on PATH]' -r -F
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from opencode" -l only -d 'Route only this provider id; repeatable' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from opencode" -l skip -d 'Do not route this provider id; repeatable' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from opencode" -l port -d 'Port for the proxy on 127.0.0.1 [default: a free one]' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from opencode" -l log-file -d 'Where headroom writes its own log [default: $XDG_STATE_HOME/headroom/wrap-AGENT.log]' -r -F
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from opencode" -l log-level -d 'Log level for the log file' -r -f -a "error\t''
warn\t''
info\t''
debug\t''
trace\t''
off\t''"
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from opencode" -l log-format -d 'Log line format for the log file' -r -f -a "text\t''
json\t''"
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from opencode" -l compress -d 'How tool outputs in requests are compressed: off; safe (lossless clean-up, repeats as references, long command output cut with the whole kept in a spill file); aggressive (safe, plus stale outputs elided in rare batches). A request\'s X-Headroom-Compress overrides it' -r -f -a "off\t''
safe\t''
aggressive\t''"
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from opencode" -l spill-dir -d 'Where cut and elided tool outputs are kept whole [default: $XDG_STATE_HOME/headroom/spill]' -r -f -a "(__fish_complete_directories)"
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from opencode" -l spill-retention -d 'Spill files older than this are removed at start (e.g. 7d, 12h)' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from opencode" -l connect-timeout -d 'Give up connecting to an upstream after this long (e.g. 10s, 500ms)' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from opencode" -l idle-timeout -d 'End an exchange with an upstream that moves no bytes either way for this long' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from opencode" -l dry-run -d 'Launch nothing: print what would be routed, and the exact environment and arguments the agent would get (secrets masked)'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from opencode" -l json -d 'With --dry-run, print JSON'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from opencode" -s q -l quiet -d 'No summary at exit'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from opencode" -l no-ledger -d 'Record no usage in the ledger that headroom usage reads ($XDG_STATE_HOME/headroom/usage.db)'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from opencode" -l allow-unrouted -d 'When the agent\'s setup cannot be routed through headroom, launch it unrouted instead of stopping'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from opencode" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from claude" -l claude-bin -d 'The claude binary [default: claude on PATH]' -r -F
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from claude" -l port -d 'Port for the proxy on 127.0.0.1 [default: a free one]' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from claude" -l log-file -d 'Where headroom writes its own log [default: $XDG_STATE_HOME/headroom/wrap-AGENT.log]' -r -F
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from claude" -l log-level -d 'Log level for the log file' -r -f -a "error\t''
warn\t''
info\t''
debug\t''
trace\t''
off\t''"
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from claude" -l log-format -d 'Log line format for the log file' -r -f -a "text\t''
json\t''"
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from claude" -l compress -d 'How tool outputs in requests are compressed: off; safe (lossless clean-up, repeats as references, long command output cut with the whole kept in a spill file); aggressive (safe, plus stale outputs elided in rare batches). A request\'s X-Headroom-Compress overrides it' -r -f -a "off\t''
safe\t''
aggressive\t''"
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from claude" -l spill-dir -d 'Where cut and elided tool outputs are kept whole [default: $XDG_STATE_HOME/headroom/spill]' -r -f -a "(__fish_complete_directories)"
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from claude" -l spill-retention -d 'Spill files older than this are removed at start (e.g. 7d, 12h)' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from claude" -l connect-timeout -d 'Give up connecting to an upstream after this long (e.g. 10s, 500ms)' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from claude" -l idle-timeout -d 'End an exchange with an upstream that moves no bytes either way for this long' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from claude" -l dry-run -d 'Launch nothing: print what would be routed, and the exact environment and arguments the agent would get (secrets masked)'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from claude" -l json -d 'With --dry-run, print JSON'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from claude" -s q -l quiet -d 'No summary at exit'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from claude" -l no-ledger -d 'Record no usage in the ledger that headroom usage reads ($XDG_STATE_HOME/headroom/usage.db)'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from claude" -l allow-unrouted -d 'When the agent\'s setup cannot be routed through headroom, launch it unrouted instead of stopping'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from claude" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from codex" -l codex-bin -d 'The codex binary [default: codex on PATH]' -r -F
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from codex" -l port -d 'Port for the proxy on 127.0.0.1 [default: a free one]' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from codex" -l log-file -d 'Where headroom writes its own log [default: $XDG_STATE_HOME/headroom/wrap-AGENT.log]' -r -F
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from codex" -l log-level -d 'Log level for the log file' -r -f -a "error\t''
warn\t''
info\t''
debug\t''
trace\t''
off\t''"
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from codex" -l log-format -d 'Log line format for the log file' -r -f -a "text\t''
json\t''"
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from codex" -l compress -d 'How tool outputs in requests are compressed: off; safe (lossless clean-up, repeats as references, long command output cut with the whole kept in a spill file); aggressive (safe, plus stale outputs elided in rare batches). A request\'s X-Headroom-Compress overrides it' -r -f -a "off\t''
safe\t''
aggressive\t''"
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from codex" -l spill-dir -d 'Where cut and elided tool outputs are kept whole [default: $XDG_STATE_HOME/headroom/spill]' -r -f -a "(__fish_complete_directories)"
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from codex" -l spill-retention -d 'Spill files older than this are removed at start (e.g. 7d, 12h)' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from codex" -l connect-timeout -d 'Give up connecting to an upstream after this long (e.g. 10s, 500ms)' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from codex" -l idle-timeout -d 'End an exchange with an upstream that moves no bytes either way for this long' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from codex" -l dry-run -d 'Launch nothing: print what would be routed, and the exact environment and arguments the agent would get (secrets masked)'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from codex" -l json -d 'With --dry-run, print JSON'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from codex" -s q -l quiet -d 'No summary at exit'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from codex" -l no-ledger -d 'Record no usage in the ledger that headroom usage reads ($XDG_STATE_HOME/headroom/usage.db)'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from codex" -l allow-unrouted -d 'When the agent\'s setup cannot be routed through headroom, launch it unrouted instead of stopping'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from codex" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from aider" -l aider-bin -d 'The aider binary [default: aider on PATH]' -r -F
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from aider" -l port -d 'Port for the proxy on 127.0.0.1 [default: a free one]' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from aider" -l log-file -d 'Where headroom writes its own log [default: $XDG_STATE_HOME/headroom/wrap-AGENT.log]' -r -F
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from aider" -l log-level -d 'Log level for the log file' -r -f -a "error\t''
warn\t''
info\t''
debug\t''
trace\t''
off\t''"
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from aider" -l log-format -d 'Log line format for the log file' -r -f -a "text\t''
json\t''"
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from aider" -l compress -d 'How tool outputs in requests are compressed: off; safe (lossless clean-up, repeats as references, long command output cut with the whole kept in a spill file); aggressive (safe, plus stale outputs elided in rare batches). A request\'s X-Headroom-Compress overrides it' -r -f -a "off\t''
safe\t''
aggressive\t''"
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from aider" -l spill-dir -d 'Where cut and elided tool outputs are kept whole [default: $XDG_STATE_HOME/headroom/spill]' -r -f -a "(__fish_complete_directories)"
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from aider" -l spill-retention -d 'Spill files older than this are removed at start (e.g. 7d, 12h)' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from aider" -l connect-timeout -d 'Give up connecting to an upstream after this long (e.g. 10s, 500ms)' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from aider" -l idle-timeout -d 'End an exchange with an upstream that moves no bytes either way for this long' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from aider" -l dry-run -d 'Launch nothing: print what would be routed, and the exact environment and arguments the agent would get (secrets masked)'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from aider" -l json -d 'With --dry-run, print JSON'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from aider" -s q -l quiet -d 'No summary at exit'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from aider" -l no-ledger -d 'Record no usage in the ledger that headroom usage reads ($XDG_STATE_HOME/headroom/usage.db)'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from aider" -l allow-unrouted -d 'When the agent\'s setup cannot be routed through headroom, launch it unrouted instead of stopping'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from aider" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from qwen" -l qwen-bin -d 'The qwen binary [default: qwen on PATH]' -r -F
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from qwen" -l port -d 'Port for the proxy on 127.0.0.1 [default: a free one]' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from qwen" -l log-file -d 'Where headroom writes its own log [default: $XDG_STATE_HOME/headroom/wrap-AGENT.log]' -r -F
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from qwen" -l log-level -d 'Log level for the log file' -r -f -a "error\t''
warn\t''
info\t''
debug\t''
trace\t''
off\t''"
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from qwen" -l log-format -d 'Log line format for the log file' -r -f -a "text\t''
json\t''"
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from qwen" -l compress -d 'How tool outputs in requests are compressed: off; safe (lossless clean-up, repeats as references, long command output cut with the whole kept in a spill file); aggressive (safe, plus stale outputs elided in rare batches). A request\'s X-Headroom-Compress overrides it' -r -f -a "off\t''
safe\t''
aggressive\t''"
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from qwen" -l spill-dir -d 'Where cut and elided tool outputs are kept whole [default: $XDG_STATE_HOME/headroom/spill]' -r -f -a "(__fish_complete_directories)"
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from qwen" -l spill-retention -d 'Spill files older than this are removed at start (e.g. 7d, 12h)' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from qwen" -l connect-timeout -d 'Give up connecting to an upstream after this long (e.g. 10s, 500ms)' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from qwen" -l idle-timeout -d 'End an exchange with an upstream that moves no bytes either way for this long' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from qwen" -l dry-run -d 'Launch nothing: print what would be routed, and the exact environment and arguments the agent would get (secrets masked)'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from qwen" -l json -d 'With --dry-run, print JSON'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from qwen" -s q -l quiet -d 'No summary at exit'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from qwen" -l no-ledger -d 'Record no usage in the ledger that headroom usage reads ($XDG_STATE_HOME/headroom/usage.db)'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from qwen" -l allow-unrouted -d 'When the agent\'s setup cannot be routed through headroom, launch it unrouted instead of stopping'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from qwen" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from kilo" -l kilo-bin -d 'The kilo binary [default: kilo on PATH]' -r -F
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from kilo" -l only -d 'Route only this provider id; repeatable' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from kilo" -l skip -d 'Do not route this provider id; repeatable' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from kilo" -l port -d 'Port for the proxy on 127.0.0.1 [default: a free one]' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from kilo" -l log-file -d 'Where headroom writes its own log [default: $XDG_STATE_HOME/headroom/wrap-AGENT.log]' -r -F
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from kilo" -l log-level -d 'Log level for the log file' -r -f -a "error\t''
warn\t''
info\t''
debug\t''
trace\t''
off\t''"
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from kilo" -l log-format -d 'Log line format for the log file' -r -f -a "text\t''
json\t''"
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from kilo" -l compress -d 'How tool outputs in requests are compressed: off; safe (lossless clean-up, repeats as references, long command output cut with the whole kept in a spill file); aggressive (safe, plus stale outputs elided in rare batches). A request\'s X-Headroom-Compress overrides it' -r -f -a "off\t''
safe\t''
aggressive\t''"
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from kilo" -l spill-dir -d 'Where cut and elided tool outputs are kept whole [default: $XDG_STATE_HOME/headroom/spill]' -r -f -a "(__fish_complete_directories)"
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from kilo" -l spill-retention -d 'Spill files older than this are removed at start (e.g. 7d, 12h)' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from kilo" -l connect-timeout -d 'Give up connecting to an upstream after this long (e.g. 10s, 500ms)' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from kilo" -l idle-timeout -d 'End an exchange with an upstream that moves no bytes either way for this long' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from kilo" -l dry-run -d 'Launch nothing: print what would be routed, and the exact environment and arguments the agent would get (secrets masked)'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from kilo" -l json -d 'With --dry-run, print JSON'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from kilo" -s q -l quiet -d 'No summary at exit'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from kilo" -l no-ledger -d 'Record no usage in the ledger that headroom usage reads ($XDG_STATE_HOME/headroom/usage.db)'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from kilo" -l allow-unrouted -d 'When the agent\'s setup cannot be routed through headroom, launch it unrouted instead of stopping'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from kilo" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from gemini" -l gemini-bin -d 'The gemini binary [default: gemini on PATH]' -r -F
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from gemini" -l port -d 'Port for the proxy on 127.0.0.1 [default: a free one]' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from gemini" -l log-file -d 'Where headroom writes its own log [default: $XDG_STATE_HOME/headroom/wrap-AGENT.log]' -r -F
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from gemini" -l log-level -d 'Log level for the log file' -r -f -a "error\t''
warn\t''
info\t''
debug\t''
trace\t''
off\t''"
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from gemini" -l log-format -d 'Log line format for the log file' -r -f -a "text\t''
json\t''"
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from gemini" -l compress -d 'How tool outputs in requests are compressed: off; safe (lossless clean-up, repeats as references, long command output cut with the whole kept in a spill file); aggressive (safe, plus stale outputs elided in rare batches). A request\'s X-Headroom-Compress overrides it' -r -f -a "off\t''
safe\t''
aggressive\t''"
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from gemini" -l spill-dir -d 'Where cut and elided tool outputs are kept whole [default: $XDG_STATE_HOME/headroom/spill]' -r -f -a "(__fish_complete_directories)"
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from gemini" -l spill-retention -d 'Spill files older than this are removed at start (e.g. 7d, 12h)' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from gemini" -l connect-timeout -d 'Give up connecting to an upstream after this long (e.g. 10s, 500ms)' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from gemini" -l idle-timeout -d 'End an exchange with an upstream that moves no bytes either way for this long' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from gemini" -l dry-run -d 'Launch nothing: print what would be routed, and the exact environment and arguments the agent would get (secrets masked)'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from gemini" -l json -d 'With --dry-run, print JSON'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from gemini" -s q -l quiet -d 'No summary at exit'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from gemini" -l no-ledger -d 'Record no usage in the ledger that headroom usage reads ($XDG_STATE_HOME/headroom/usage.db)'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from gemini" -l allow-unrouted -d 'When the agent\'s setup cannot be routed through headroom, launch it unrouted instead of stopping'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from gemini" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from help" -f -a "opencode" -d 'Run opencode with every provider routed through one in-process proxy'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from help" -f -a "claude" -d 'Run Claude Code with its requests routed through one in-process proxy'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from help" -f -a "codex" -d 'Run Codex with its requests routed through one in-process proxy'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from help" -f -a "aider" -d 'Run Aider with its requests routed through one in-process proxy'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from help" -f -a "qwen" -d 'Run Qwen Code with its requests routed through one in-process proxy'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from help" -f -a "kilo" -d 'Run Kilo with every provider routed through one in-process proxy'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from help" -f -a "gemini" -d 'Run Gemini CLI with its requests routed through one in-process proxy'
complete -c headroom -n "__fish_headroom_using_subcommand wrap; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c headroom -n "__fish_headroom_using_subcommand usage" -l by -d 'Total per day, model, provider, agent or run instead of one total' -r -f -a "day\t''
model\t''
provider\t''
agent\t''
run\t''"
complete -c headroom -n "__fish_headroom_using_subcommand usage" -l since -d 'Start of the window: 7d, 24h, today, or a local date YYYY-MM-DD [default: today]' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand usage" -l run -d 'Only the requests of this run (all time, unless --since)' -r -f
complete -c headroom -n "__fish_headroom_using_subcommand usage" -l db -d 'The ledger to read [default: $XDG_STATE_HOME/headroom/usage.db]' -r -F
complete -c headroom -n "__fish_headroom_using_subcommand usage" -l json -d 'Print a JSON array of rows instead of a table'
complete -c headroom -n "__fish_headroom_using_subcommand usage" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c headroom -n "__fish_headroom_using_subcommand completions" -s h -l help -d 'Print help'
complete -c headroom -n "__fish_headroom_using_subcommand man" -s h -l help -d 'Print help'
complete -c headroom -n "__fish_headroom_using_subcommand help; and not __fish_seen_subcommand_from proxy wrap usage completions man help" -f -a "proxy" -d 'Run the forwarding proxy in the foreground'
complete -c headroom -n "__fish_headroom_using_subcommand help; and not __fish_seen_subcommand_from proxy wrap usage completions man help" -f -a "wrap" -d 'Run a coding agent through an in-process proxy'
complete -c headroom -n "__fish_headroom_using_subcommand help; and not __fish_seen_subcommand_from proxy wrap usage completions man help" -f -a "usage" -d 'Show the tokens and cost of the requests headroom forwarded'
complete -c headroom -n "__fish_headroom_using_subcommand help; and not __fish_seen_subcommand_from proxy wrap usage completions man help" -f -a "completions" -d 'Print a shell completion script to stdout'
complete -c headroom -n "__fish_headroom_using_subcommand help; and not __fish_seen_subcommand_from proxy wrap usage completions man help" -f -a "man" -d 'Write the man pages into a directory'
complete -c headroom -n "__fish_headroom_using_subcommand help; and not __fish_seen_subcommand_from proxy wrap usage completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c headroom -n "__fish_headroom_using_subcommand help; and __fish_seen_subcommand_from wrap" -f -a "opencode" -d 'Run opencode with every provider routed through one in-process proxy'
complete -c headroom -n "__fish_headroom_using_subcommand help; and __fish_seen_subcommand_from wrap" -f -a "claude" -d 'Run Claude Code with its requests routed through one in-process proxy'
complete -c headroom -n "__fish_headroom_using_subcommand help; and __fish_seen_subcommand_from wrap" -f -a "codex" -d 'Run Codex with its requests routed through one in-process proxy'
complete -c headroom -n "__fish_headroom_using_subcommand help; and __fish_seen_subcommand_from wrap" -f -a "aider" -d 'Run Aider with its requests routed through one in-process proxy'
complete -c headroom -n "__fish_headroom_using_subcommand help; and __fish_seen_subcommand_from wrap" -f -a "qwen" -d 'Run Qwen Code with its requests routed through one in-process proxy'
complete -c headroom -n "__fish_headroom_using_subcommand help; and __fish_seen_subcommand_from wrap" -f -a "kilo" -d 'Run Kilo with every provider routed through one in-process proxy'
complete -c headroom -n "__fish_headroom_using_subcommand help; and __fish_seen_subcommand_from wrap" -f -a "gemini" -d 'Run Gemini CLI with its requests routed through one in-process proxy'
