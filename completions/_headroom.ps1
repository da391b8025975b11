
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'headroom' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'headroom'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'headroom' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('proxy', 'proxy', [CompletionResultType]::ParameterValue, 'Run the forwarding proxy in the foreground')
            [CompletionResult]::new('wrap', 'wrap', [CompletionResultType]::ParameterValue, 'Run a coding agent through an in-process proxy')
            [CompletionResult]::new('usage', 'usage', [CompletionResultType]::ParameterValue, 'Show the tokens and cost of the requests headroom forwarded')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to stdout')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Write the man pages into a directory')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'headroom;proxy' {
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Address to listen on. Anything but loopback needs --allow-upstream or --allow-any-upstream')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port to listen on; 0 picks a free one (the real port is printed)')
            [CompletionResult]::new('--openai-upstream', '--openai-upstream', [CompletionResultType]::ParameterName, 'Default upstream for OpenAI-style and unknown paths')
            [CompletionResult]::new('--anthropic-upstream', '--anthropic-upstream', [CompletionResultType]::ParameterName, 'Default upstream for /v1/messages*')
            [CompletionResult]::new('--gemini-upstream', '--gemini-upstream', [CompletionResultType]::ParameterName, 'Default upstream for /v1beta/*')
            [CompletionResult]::new('--allow-upstream', '--allow-upstream', [CompletionResultType]::ParameterName, 'Only forward to this origin (scheme://host[:port]); repeatable. Other upstreams get 403')
            [CompletionResult]::new('--compress', '--compress', [CompletionResultType]::ParameterName, 'How tool outputs in requests are compressed: off; safe (lossless clean-up, repeats as references, long command output cut with the whole kept in a spill file); aggressive (safe, plus stale outputs elided in rare batches). A request''s X-Headroom-Compress overrides it')
            [CompletionResult]::new('--spill-dir', '--spill-dir', [CompletionResultType]::ParameterName, 'Where cut and elided tool outputs are kept whole [default: $XDG_STATE_HOME/headroom/spill]')
            [CompletionResult]::new('--spill-retention', '--spill-retention', [CompletionResultType]::ParameterName, 'Spill files older than this are removed at start (e.g. 7d, 12h)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting to an upstream after this long (e.g. 10s, 500ms)')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'End an exchange with an upstream that moves no bytes either way for this long')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level [default: info, or RUST_LOG]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format')
            [CompletionResult]::new('--allow-any-upstream', '--allow-any-upstream', [CompletionResultType]::ParameterName, 'Forward to any upstream, even when listening beyond loopback')
            [CompletionResult]::new('--no-ledger', '--no-ledger', [CompletionResultType]::ParameterName, 'Record no usage in the ledger that headroom usage reads ($XDG_STATE_HOME/headroom/usage.db)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'headroom;wrap' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Without an agent: print the list of agents as JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('opencode', 'opencode', [CompletionResultType]::ParameterValue, 'Run opencode with every provider routed through one in-process proxy')
            [CompletionResult]::new('claude', 'claude', [CompletionResultType]::ParameterValue, 'Run Claude Code with its requests routed through one in-process proxy')
            [CompletionResult]::new('codex', 'codex', [CompletionResultType]::ParameterValue, 'Run Codex with its requests routed through one in-process proxy')
            [CompletionResult]::new('aider', 'aider', [CompletionResultType]::ParameterValue, 'Run Aider with its requests routed through one in-process proxy')
            [CompletionResult]::new('qwen', 'qwen', [CompletionResultType]::ParameterValue, 'Run Qwen Code with its requests routed through one in-process proxy')
            [CompletionResult]::new('kilo', 'kilo', [CompletionResultType]::ParameterValue, 'Run Kilo with every provider routed through one in-process proxy')
            [CompletionResult]::new('gemini', 'gemini', [CompletionResultType]::ParameterValue, 'Run Gemini CLI with its requests routed through one in-process proxy')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'headroom;wrap;opencode' {
            [CompletionResult]::new('--opencode-bin', '--opencode-bin', [CompletionResultType]::ParameterName, 'The opencode binary [default: opencode on PATH]')
            [CompletionResult]::new('--only', '--only', [CompletionResultType]::ParameterName, 'Route only this provider id; repeatable')
            [CompletionResult]::new('--skip', '--skip', [CompletionResultType]::ParameterName, 'Do not route this provider id; repeatable')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port for the proxy on 127.0.0.1 [default: a free one]')
            [CompletionResult]::new('--log-file', '--log-file', [CompletionResultType]::ParameterName, 'Where headroom writes its own log [default: $XDG_STATE_HOME/headroom/wrap-AGENT.log]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level for the log file')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format for the log file')
            [CompletionResult]::new('--compress', '--compress', [CompletionResultType]::ParameterName, 'How tool outputs in requests are compressed: off; safe (lossless clean-up, repeats as references, long command output cut with the whole kept in a spill file); aggressive (safe, plus stale outputs elided in rare batches). A request''s X-Headroom-Compress overrides it')
            [CompletionResult]::new('--spill-dir', '--spill-dir', [CompletionResultType]::ParameterName, 'Where cut and elided tool outputs are kept whole [default: $XDG_STATE_HOME/headroom/spill]')
            [CompletionResult]::new('--spill-retention', '--spill-retention', [CompletionResultType]::ParameterName, 'Spill files older than this are removed at start (e.g. 7d, 12h)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting to an upstream after this long (e.g. 10s, 500ms)')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'End an exchange with an upstream that moves no bytes either way for this long')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Launch nothing: print what would be routed, and the exact environment and arguments the agent would get (secrets masked)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'With --dry-run, print JSON')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No summary at exit')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No summary at exit')
            [CompletionResult]::new('--no-ledger', '--no-ledger', [CompletionResultType]::ParameterName, 'Record no usage in the ledger that headroom usage reads ($XDG_STATE_HOME/headroom/usage.db)')
            [CompletionResult]::new('--allow-unrouted', '--allow-unrouted', [CompletionResultType]::ParameterName, 'When the agent''s setup cannot be routed through headroom, launch it unrouted instead of stopping')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'headroom;wrap;claude' {
            [CompletionResult]::new('--claude-bin', '--claude-bin', [CompletionResultType]::ParameterName, 'The claude binary [default: claude on PATH]')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port for the proxy on 127.0.0.1 [default: a free one]')
            [CompletionResult]::new('--log-file', '--log-file', [CompletionResultType]::ParameterName, 'Where headroom writes its own log [default: $XDG_STATE_HOME/headroom/wrap-AGENT.log]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level for the log file')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format for the log file')
            [CompletionResult]::new('--compress', '--compress', [CompletionResultType]::ParameterName, 'How tool outputs in requests are compressed: off; safe (lossless clean-up, repeats as references, long command output cut with the whole kept in a spill file); aggressive (safe, plus stale outputs elided in rare batches). A request''s X-Headroom-Compress overrides it')
            [CompletionResult]::new('--spill-dir', '--spill-dir', [CompletionResultType]::ParameterName, 'Where cut and elided tool outputs are kept whole [default: $XDG_STATE_HOME/headroom/spill]')
            [CompletionResult]::new('--spill-retention', '--spill-retention', [CompletionResultType]::ParameterName, 'Spill files older than this are removed at start (e.g. 7d, 12h)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting to an upstream after this long (e.g. 10s, 500ms)')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'End an exchange with an upstream that moves no bytes either way for this long')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Launch nothing: print what would be routed, and the exact environment and arguments the agent would get (secrets masked)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'With --dry-run, print JSON')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No summary at exit')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No summary at exit')
            [CompletionResult]::new('--no-ledger', '--no-ledger', [CompletionResultType]::ParameterName, 'Record no usage in the ledger that headroom usage reads ($XDG_STATE_HOME/headroom/usage.db)')
            [CompletionResult]::new('--allow-unrouted', '--allow-unrouted', [CompletionResultType]::ParameterName, 'When the agent''s setup cannot be routed through headroom, launch it unrouted instead of stopping')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'headroom;wrap;codex' {
            [CompletionResult]::new('--codex-bin', '--codex-bin', [CompletionResultType]::ParameterName, 'The codex binary [default: codex on PATH]')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port for the proxy on 127.0.0.1 [default: a free one]')
            [CompletionResult]::new('--log-file', '--log-file', [CompletionResultType]::ParameterName, 'Where headroom writes its own log [default: $XDG_STATE_HOME/headroom/wrap-AGENT.log]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level for the log file')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format for the log file')
            [CompletionResult]::new('--compress', '--compress', [CompletionResultType]::ParameterName, 'How tool outputs in requests are compressed: off; safe (lossless clean-up, repeats as references, long command output cut with the whole kept in a spill file); aggressive (safe, plus stale outputs elided in rare batches). A request''s X-Headroom-Compress overrides it')
            [CompletionResult]::new('--spill-dir', '--spill-dir', [CompletionResultType]::ParameterName, 'Where cut and elided tool outputs are kept whole [default: $XDG_STATE_HOME/headroom/spill]')
            [CompletionResult]::new('--spill-retention', '--spill-retention', [CompletionResultType]::ParameterName, 'Spill files older than this are removed at start (e.g. 7d, 12h)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting to an upstream after this long (e.g. 10s, 500ms)')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'End an exchange with an upstream that moves no bytes either way for this long')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Launch nothing: print what would be routed, and the exact environment and arguments the agent would get (secrets masked)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'With --dry-run, print JSON')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No summary at exit')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No summary at exit')
            [CompletionResult]::new('--no-ledger', '--no-ledger', [CompletionResultType]::ParameterName, 'Record no usage in the ledger that headroom usage reads ($XDG_STATE_HOME/headroom/usage.db)')
            [CompletionResult]::new('--allow-unrouted', '--allow-unrouted', [CompletionResultType]::ParameterName, 'When the agent''s setup cannot be routed through headroom, launch it unrouted instead of stopping')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'headroom;wrap;aider' {
            [CompletionResult]::new('--aider-bin', '--aider-bin', [CompletionResultType]::ParameterName, 'The aider binary [default: aider on PATH]')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port for the proxy on 127.0.0.1 [default: a free one]')
            [CompletionResult]::new('--log-file', '--log-file', [CompletionResultType]::ParameterName, 'Where headroom writes its own log [default: $XDG_STATE_HOME/headroom/wrap-AGENT.log]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level for the log file')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format for the log file')
            [CompletionResult]::new('--compress', '--compress', [CompletionResultType]::ParameterName, 'How tool outputs in requests are compressed: off; safe (lossless clean-up, repeats as references, long command output cut with the whole kept in a spill file); aggressive (safe, plus stale outputs elided in rare batches). A request''s X-Headroom-Compress overrides it')
            [CompletionResult]::new('--spill-dir', '--spill-dir', [CompletionResultType]::ParameterName, 'Where cut and elided tool outputs are kept whole [default: $XDG_STATE_HOME/headroom/spill]')
            [CompletionResult]::new('--spill-retention', '--spill-retention', [CompletionResultType]::ParameterName, 'Spill files older than this are removed at start (e.g. 7d, 12h)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting to an upstream after this long (e.g. 10s, 500ms)')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'End an exchange with an upstream that moves no bytes either way for this long')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Launch nothing: print what would be routed, and the exact environment and arguments the agent would get (secrets masked)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'With --dry-run, print JSON')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No summary at exit')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No summary at exit')
            [CompletionResult]::new('--no-ledger', '--no-ledger', [CompletionResultType]::ParameterName, 'Record no usage in the ledger that headroom usage reads ($XDG_STATE_HOME/headroom/usage.db)')
            [CompletionResult]::new('--allow-unrouted', '--allow-unrouted', [CompletionResultType]::ParameterName, 'When the agent''s setup cannot be routed through headroom, launch it unrouted instead of stopping')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'headroom;wrap;qwen' {
            [CompletionResult]::new('--qwen-bin', '--qwen-bin', [CompletionResultType]::ParameterName, 'The qwen binary [default: qwen on PATH]')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port for the proxy on 127.0.0.1 [default: a free one]')
            [CompletionResult]::new('--log-file', '--log-file', [CompletionResultType]::ParameterName, 'Where headroom writes its own log [default: $XDG_STATE_HOME/headroom/wrap-AGENT.log]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level for the log file')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format for the log file')
            [CompletionResult]::new('--compress', '--compress', [CompletionResultType]::ParameterName, 'How tool outputs in requests are compressed: off; safe (lossless clean-up, repeats as references, long command output cut with the whole kept in a spill file); aggressive (safe, plus stale outputs elided in rare batches). A request''s X-Headroom-Compress overrides it')
            [CompletionResult]::new('--spill-dir', '--spill-dir', [CompletionResultType]::ParameterName, 'Where cut and elided tool outputs are kept whole [default: $XDG_STATE_HOME/headroom/spill]')
            [CompletionResult]::new('--spill-retention', '--spill-retention', [CompletionResultType]::ParameterName, 'Spill files older than this are removed at start (e.g. 7d, 12h)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting to an upstream after this long (e.g. 10s, 500ms)')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'End an exchange with an upstream that moves no bytes either way for this long')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Launch nothing: print what would be routed, and the exact environment and arguments the agent would get (secrets masked)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'With --dry-run, print JSON')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No summary at exit')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No summary at exit')
            [CompletionResult]::new('--no-ledger', '--no-ledger', [CompletionResultType]::ParameterName, 'Record no usage in the ledger that headroom usage reads ($XDG_STATE_HOME/headroom/usage.db)')
            [CompletionResult]::new('--allow-unrouted', '--allow-unrouted', [CompletionResultType]::ParameterName, 'When the agent''s setup cannot be routed through headroom, launch it unrouted instead of stopping')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'headroom;wrap;kilo' {
            [CompletionResult]::new('--kilo-bin', '--kilo-bin', [CompletionResultType]::ParameterName, 'The kilo binary [default: kilo on PATH]')
            [CompletionResult]::new('--only', '--only', [CompletionResultType]::ParameterName, 'Route only this provider id; repeatable')
            [CompletionResult]::new('--skip', '--skip', [CompletionResultType]::ParameterName, 'Do not route this provider id; repeatable')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port for the proxy on 127.0.0.1 [default: a free one]')
            [CompletionResult]::new('--log-file', '--log-file', [CompletionResultType]::ParameterName, 'Where headroom writes its own log [default: $XDG_STATE_HOME/headroom/wrap-AGENT.log]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level for the log file')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format for the log file')
            [CompletionResult]::new('--compress', '--compress', [CompletionResultType]::ParameterName, 'How tool outputs in requests are compressed: off; safe (lossless clean-up, repeats as references, long command output cut with the whole kept in a spill file); aggressive (safe, plus stale outputs elided in rare batches). A request''s X-Headroom-Compress overrides it')
            [CompletionResult]::new('--spill-dir', '--spill-dir', [CompletionResultType]::ParameterName, 'Where cut and elided tool outputs are kept whole [default: $XDG_STATE_HOME/headroom/spill]')
            [CompletionResult]::new('--spill-retention', '--spill-retention', [CompletionResultType]::ParameterName, 'Spill files older than this are removed at start (e.g. 7d, 12h)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting to an upstream after this long (e.g. 10s, 500ms)')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'End an exchange with an upstream that moves no bytes either way for this long')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Launch nothing: print what would be routed, and the exact environment and arguments the agent would get (secrets masked)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'With --dry-run, print JSON')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No summary at exit')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No summary at exit')
            [CompletionResult]::new('--no-ledger', '--no-ledger', [CompletionResultType]::ParameterName, 'Record no usage in the ledger that headroom usage reads ($XDG_STATE_HOME/headroom/usage.db)')
            [CompletionResult]::new('--allow-unrouted', '--allow-unrouted', [CompletionResultType]::ParameterName, 'When the agent''s setup cannot be routed through headroom, launch it unrouted instead of stopping')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'headroom;wrap;gemini' {
            [CompletionResult]::new('--gemini-bin', '--gemini-bin', [CompletionResultType]::ParameterName, 'The gemini binary [default: gemini on PATH]')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port for the proxy on 127.0.0.1 [default: a free one]')
            [CompletionResult]::new('--log-file', '--log-file', [CompletionResultType]::ParameterName, 'Where headroom writes its own log [default: $XDG_STATE_HOME/headroom/wrap-AGENT.log]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level for the log file')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format for the log file')
            [CompletionResult]::new('--compress', '--compress', [CompletionResultType]::ParameterName, 'How tool outputs in requests are compressed: off; safe (lossless clean-up, repeats as references, long command output cut with the whole kept in a spill file); aggressive (safe, plus stale outputs elided in rare batches). A request''s X-Headroom-Compress overrides it')
            [CompletionResult]::new('--spill-dir', '--spill-dir', [CompletionResultType]::ParameterName, 'Where cut and elided tool outputs are kept whole [default: $XDG_STATE_HOME/headroom/spill]')
            [CompletionResult]::new('--spill-retention', '--spill-retention', [CompletionResultType]::ParameterName, 'Spill files older than this are removed at start (e.g. 7d, 12h)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting to an upstream after this long (e.g. 10s, 500ms)')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'End an exchange with an upstream that moves no bytes either way for this long')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Launch nothing: print what would be routed, and the exact environment and arguments the agent would get (secrets masked)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'With --dry-run, print JSON')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No summary at exit')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No summary at exit')
            [CompletionResult]::new('--no-ledger', '--no-ledger', [CompletionResultType]::ParameterName, 'Record no usage in the ledger that headroom usage reads ($XDG_STATE_HOME/headroom/usage.db)')
            [CompletionResult]::new('--allow-unrouted', '--allow-unrouted', [CompletionResultType]::ParameterName, 'When the agent''s setup cannot be routed through headroom, launch it unrouted instead of stopping')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'headroom;wrap;help' {
            [CompletionResult]::new('opencode', 'opencode', [CompletionResultType]::ParameterValue, 'Run opencode with every provider routed through one in-process proxy')
            [CompletionResult]::new('claude', 'claude', [CompletionResultType]::ParameterValue, 'Run Claude Code with its requests routed through one in-process proxy')
            [CompletionResult]::new('codex', 'codex', [CompletionResultType]::ParameterValue, 'Run Codex with its requests routed through one in-process proxy')
            [CompletionResult]::new('aider', 'aider', [CompletionResultType]::ParameterValue, 'Run Aider with its requests routed through one in-process proxy')
            [CompletionResult]::new('qwen', 'qwen', [CompletionResultType]::ParameterValue, 'Run Qwen Code with its requests routed through one in-process proxy')
            [CompletionResult]::new('kilo', 'kilo', [CompletionResultType]::ParameterValue, 'Run Kilo with every provider routed through one in-process proxy')
            [CompletionResult]::new('gemini', 'gemini', [CompletionResultType]::ParameterValue, 'Run Gemini CLI with its requests routed through one in-process proxy')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'headroom;wrap;help;opencode' {
            break
        }
        'headroom;wrap;help;claude' {
            break
        }
        'headroom;wrap;help;codex' {
            break
        }
        'headroom;wrap;help;aider' {
            break
        }
        'headroom;wrap;help;qwen' {
            break
        }
        'headroom;wrap;help;kilo' {
            break
        }
        'headroom;wrap;help;gemini' {
            break
        }
        'headroom;wrap;help;help' {
            break
        }
        'headroom;usage' {
            [CompletionResult]::new('--by', '--by', [CompletionResultType]::ParameterName, 'Total per day, model, provider, agent or run instead of one total')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Start of the window: 7d, 24h, today, or a local date YYYY-MM-DD [default: today]')
            [CompletionResult]::new('--run', '--run', [CompletionResultType]::ParameterName, 'Only the requests of this run (all time, unless --since)')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The ledger to read [default: $XDG_STATE_HOME/headroom/usage.db]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a JSON array of rows instead of a table')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'headroom;completions' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'headroom;man' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'headroom;help' {
            [CompletionResult]::new('proxy', 'proxy', [CompletionResultType]::ParameterValue, 'Run the forwarding proxy in the foreground')
            [CompletionResult]::new('wrap', 'wrap', [CompletionResultType]::ParameterValue, 'Run a coding agent through an in-process proxy')
            [CompletionResult]::new('usage', 'usage', [CompletionResultType]::ParameterValue, 'Show the tokens and cost of the requests headroom forwarded')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to stdout')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Write the man pages into a directory')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'headroom;help;proxy' {
            break
        }
        'headroom;help;wrap' {
            [CompletionResult]::new('opencode', 'opencode', [CompletionResultType]::ParameterValue, 'Run opencode with every provider routed through one in-process proxy')
            [CompletionResult]::new('claude', 'claude', [CompletionResultType]::ParameterValue, 'Run Claude Code with its requests routed through one in-process proxy')
            [CompletionResult]::new('codex', 'codex', [CompletionResultType]::ParameterValue, 'Run Codex with its requests routed through one in-process proxy')
            [CompletionResult]::new('aider', 'aider', [CompletionResultType]::ParameterValue, 'Run Aider with its requests routed through one in-process proxy')
            [CompletionResult]::new('qwen', 'qwen', [CompletionResultType]::ParameterValue, 'Run Qwen Code with its requests routed through one in-process proxy')
            [CompletionResult]::new('kilo', 'kilo', [CompletionResultType]::ParameterValue, 'Run Kilo with every provider routed through one in-process proxy')
            [CompletionResult]::new('gemini', 'gemini', [CompletionResultType]::ParameterValue, 'Run Gemini CLI with its requests routed through one in-process proxy')
            break
        }
        'headroom;help;wrap;opencode' {
            break
        }
        'headroom;help;wrap;claude' {
            break
        }
        'headroom;help;wrap;codex' {
            break
        }
        'headroom;help;wrap;aider' {
            break
        }
        'headroom;help;wrap;qwen' {
            break
        }
        'headroom;help;wrap;kilo' {
            break
        }
        'headroom;help;wrap;gemini' {
            break
        }
        'headroom;help;usage' {
            break
        }
        'headroom;help;completions' {
            break
        }
        'headroom;help;man' {
            break
        }
        'headroom;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
