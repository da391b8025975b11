
use builtin;
use str;

set edit:completion:arg-completer[headroom] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'headroom'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'headroom'= {
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand proxy 'Run the forwarding proxy in the foreground'
            cand wrap 'Run a coding agent through an in-process proxy'
            cand usage 'Show the tokens and cost of the requests headroom forwarded'
            cand completions 'Print a shell completion script to stdout'
            cand man 'Write the man pages into a directory'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'headroom;proxy'= {
            cand --host 'Address to listen on. Anything but loopback needs --allow-upstream or --allow-any-upstream'
            cand --port 'Port to listen on; 0 picks a free one (the real port is printed)'
            cand --openai-upstream 'Default upstream for OpenAI-style and unknown paths'
            cand --anthropic-upstream 'Default upstream for /v1/messages*'
            cand --gemini-upstream 'Default upstream for /v1beta/*'
            cand --allow-upstream 'Only forward to this origin (scheme://host[:port]); repeatable. Other upstreams get 403'
            cand --compress 'How tool outputs in requests are compressed: off; safe (lossless clean-up, repeats as references, long command output cut with the whole kept in a spill file); aggressive (safe, plus stale outputs elided in rare batches). A request''s X-Headroom-Compress overrides it'
            cand --spill-dir 'Where cut and elided tool outputs are kept whole [default: $XDG_STATE_HOME/headroom/spill]'
            cand --spill-retention 'Spill files older than this are removed at start (e.g. 7d, 12h)'
            cand --connect-timeout 'Give up connecting to an upstream after this long (e.g. 10s, 500ms)'
            cand --idle-timeout 'End an exchange with an upstream that moves no bytes either way for this long'
            cand --log-level 'Log level [default: info, or RUST_LOG]'
            cand --log-format 'Log line format'
            cand --allow-any-upstream 'Forward to any upstream, even when listening beyond loopback'
            cand --no-ledger 'Record no usage in the ledger that headroom usage reads ($XDG_STATE_HOME/headroom/usage.db)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'headroom;wrap'= {
            cand --json 'Without an agent: print the list of agents as JSON'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand opencode 'Run opencode with every provider routed through one in-process proxy'
            cand claude 'Run Claude Code with its requests routed through one in-process proxy'
            cand codex 'Run Codex with its requests routed through one in-process proxy'
            cand aider 'Run Aider with its requests routed through one in-process proxy'
            cand qwen 'Run Qwen Code with its requests routed through one in-process proxy'
            cand kilo 'Run Kilo with every provider routed through one in-process proxy'
            cand gemini 'Run Gemini CLI with its requests routed through one in-process proxy'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'headroom;wrap;opencode'= {
            cand --opencode-bin 'The opencode binary [default: opencode on PATH]'
            cand --only 'Route only this provider id; repeatable'
            cand --skip 'Do not route this provider id; repeatable'
            cand --port 'Port for the proxy on 127.0.0.1 [default: a free one]'
            cand --log-file 'Where headroom writes its own log [default: $XDG_STATE_HOME/headroom/wrap-AGENT.log]'
            cand --log-level 'Log level for the log file'
            cand --log-format 'Log line format for the log file'
            cand --compress 'How tool outputs in requests are compressed: off; safe (lossless clean-up, repeats as references, long command output cut with the whole kept in a spill file); aggressive (safe, plus stale outputs elided in rare batches). A request''s X-Headroom-Compress overrides it'
            cand --spill-dir 'Where cut and elided tool outputs are kept whole [default: $XDG_STATE_HOME/headroom/spill]'
            cand --spill-retention 'Spill files older than this are removed at start (e.g. 7d, 12h)'
            cand --connect-timeout 'Give up connecting to an upstream after this long (e.g. 10s, 500ms)'
            cand --idle-timeout 'End an exchange with an upstream that moves no bytes either way for this long'
            cand --dry-run 'Launch nothing: print what would be routed, and the exact environment and arguments the agent would get (secrets masked)'
            cand --json 'With --dry-run, print JSON'
            cand -q 'No summary at exit'
            cand --quiet 'No summary at exit'
            cand --no-ledger 'Record no usage in the ledger that headroom usage reads ($XDG_STATE_HOME/headroom/usage.db)'
            cand --allow-unrouted 'When the agent''s setup cannot be routed through headroom, launch it unrouted instead of stopping'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'headroom;wrap;claude'= {
            cand --claude-bin 'The claude binary [default: claude on PATH]'
            cand --port 'Port for the proxy on 127.0.0.1 [default: a free one]'
            cand --log-file 'Where headroom writes its own log [default: $XDG_STATE_HOME/headroom/wrap-AGENT.log]'
            cand --log-level 'Log level for the log file'
            cand --log-format 'Log line format for the log file'
            cand --compress 'How tool outputs in requests are compressed: off; safe (lossless clean-up, repeats as references, long command output cut with the whole kept in a spill file); aggressive (safe, plus stale outputs elided in rare batches). A request''s X-Headroom-Compress overrides it'
            cand --spill-dir 'Where cut and elided tool outputs are kept whole [default: $XDG_STATE_HOME/headroom/spill]'
            cand --spill-retention 'Spill files older than this are removed at start (e.g. 7d, 12h)'
            cand --connect-timeout 'Give up connecting to an upstream after this long (e.g. 10s, 500ms)'
            cand --idle-timeout 'End an exchange with an upstream that moves no bytes either way for this long'
            cand --dry-run 'Launch nothing: print what would be routed, and the exact environment and arguments the agent would get (secrets masked)'
            cand --json 'With --dry-run, print JSON'
            cand -q 'No summary at exit'
            cand --quiet 'No summary at exit'
            cand --no-ledger 'Record no usage in the ledger that headroom usage reads ($XDG_STATE_HOME/headroom/usage.db)'
            cand --allow-unrouted 'When the agent''s setup cannot be routed through headroom, launch it unrouted instead of stopping'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'headroom;wrap;codex'= {
            cand --codex-bin 'The codex binary [default: codex on PATH]'
            cand --port 'Port for the proxy on 127.0.0.1 [default: a free one]'
            cand --log-file 'Where headroom writes its own log [default: $XDG_STATE_HOME/headroom/wrap-AGENT.log]'
            cand --log-level 'Log level for the log file'
            cand --log-format 'Log line format for the log file'
            cand --compress 'How tool outputs in requests are compressed: off; safe (lossless clean-up, repeats as references, long command output cut with the whole kept in a spill file); aggressive (safe, plus stale outputs elided in rare batches). A request''s X-Headroom-Compress overrides it'
            cand --spill-dir 'Where cut and elided tool outputs are kept whole [default: $XDG_STATE_HOME/headroom/spill]'
            cand --spill-retention 'Spill files older than this are removed at start (e.g. 7d, 12h)'
            cand --connect-timeout 'Give up connecting to an upstream after this long (e.g. 10s, 500ms)'
            cand --idle-timeout 'End an exchange with an upstream that moves no bytes either way for this long'
            cand --dry-run 'Launch nothing: print what would be routed, and the exact environment and arguments the agent would get (secrets masked)'
            cand --json 'With --dry-run, print JSON'
            cand -q 'No summary at exit'
            cand --quiet 'No summary at exit'
            cand --no-ledger 'Record no usage in the ledger that headroom usage reads ($XDG_STATE_HOME/headroom/usage.db)'
            cand --allow-unrouted 'When the agent''s setup cannot be routed through headroom, launch it unrouted instead of stopping'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'headroom;wrap;aider'= {
            cand --aider-bin 'The aider binary [default: aider on PATH]'
            cand --port 'Port for the proxy on 127.0.0.1 [default: a free one]'
            cand --log-file 'Where headroom writes its own log [default: $XDG_STATE_HOME/headroom/wrap-AGENT.log]'
            cand --log-level 'Log level for the log file'
            cand --log-format 'Log line format for the log file'
            cand --compress 'How tool outputs in requests are compressed: off; safe (lossless clean-up, repeats as references, long command output cut with the whole kept in a spill file); aggressive (safe, plus stale outputs elided in rare batches). A request''s X-Headroom-Compress overrides it'
            cand --spill-dir 'Where cut and elided tool outputs are kept whole [default: $XDG_STATE_HOME/headroom/spill]'
            cand --spill-retention 'Spill files older than this are removed at start (e.g. 7d, 12h)'
            cand --connect-timeout 'Give up connecting to an upstream after this long (e.g. 10s, 500ms)'
            cand --idle-timeout 'End an exchange with an upstream that moves no bytes either way for this long'
            cand --dry-run 'Launch nothing: print what would be routed, and the exact environment and arguments the agent would get (secrets masked)'
            cand --json 'With --dry-run, print JSON'
            cand -q 'No summary at exit'
            cand --quiet 'No summary at exit'
            cand --no-ledger 'Record no usage in the ledger that headroom usage reads ($XDG_STATE_HOME/headroom/usage.db)'
            cand --allow-unrouted 'When the agent''s setup cannot be routed through headroom, launch it unrouted instead of stopping'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'headroom;wrap;qwen'= {
            cand --qwen-bin 'The qwen binary [default: qwen on PATH]'
            cand --port 'Port for the proxy on 127.0.0.1 [default: a free one]'
            cand --log-file 'Where headroom writes its own log [default: $XDG_STATE_HOME/headroom/wrap-AGENT.log]'
            cand --log-level 'Log level for the log file'
            cand --log-format 'Log line format for the log file'
            cand --compress 'How tool outputs in requests are compressed: off; safe (lossless clean-up, repeats as references, long command output cut with the whole kept in a spill file); aggressive (safe, plus stale outputs elided in rare batches). A request''s X-Headroom-Compress overrides it'
            cand --spill-dir 'Where cut and elided tool outputs are kept whole [default: $XDG_STATE_HOME/headroom/spill]'
            cand --spill-retention 'Spill files older than this are removed at start (e.g. 7d, 12h)'
            cand --connect-timeout 'Give up connecting to an upstream after this long (e.g. 10s, 500ms)'
            cand --idle-timeout 'End an exchange with an upstream that moves no bytes either way for this long'
            cand --dry-run 'Launch nothing: print what would be routed, and the exact environment and arguments the agent would get (secrets masked)'
            cand --json 'With --dry-run, print JSON'
            cand -q 'No summary at exit'
            cand --quiet 'No summary at exit'
            cand --no-ledger 'Record no usage in the ledger that headroom usage reads ($XDG_STATE_HOME/headroom/usage.db)'
            cand --allow-unrouted 'When the agent''s setup cannot be routed through headroom, launch it unrouted instead of stopping'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'headroom;wrap;kilo'= {
            cand --kilo-bin 'The kilo binary [default: kilo on PATH]'
            cand --only 'Route only this provider id; repeatable'
            cand --skip 'Do not route this provider id; repeatable'
            cand --port 'Port for the proxy on 127.0.0.1 [default: a free one]'
            cand --log-file 'Where headroom writes its own log [default: $XDG_STATE_HOME/headroom/wrap-AGENT.log]'
            cand --log-level 'Log level for the log file'
            cand --log-format 'Log line format for the log file'
            cand --compress 'How tool outputs in requests are compressed: off; safe (lossless clean-up, repeats as references, long command output cut with the whole kept in a spill file); aggressive (safe, plus stale outputs elided in rare batches). A request''s X-Headroom-Compress overrides it'
            cand --spill-dir 'Where cut and elided tool outputs are kept whole [default: $XDG_STATE_HOME/headroom/spill]'
            cand --spill-retention 'Spill files older than this are removed at start (e.g. 7d, 12h)'
            cand --connect-timeout 'Give up connecting to an upstream after this long (e.g. 10s, 500ms)'
            cand --idle-timeout 'End an exchange with an upstream that moves no bytes either way for this long'
            cand --dry-run 'Launch nothing: print what would be routed, and the exact environment and arguments the agent would get (secrets masked)'
            cand --json 'With --dry-run, print JSON'
            cand -q 'No summary at exit'
            cand --quiet 'No summary at exit'
            cand --no-ledger 'Record no usage in the ledger that headroom usage reads ($XDG_STATE_HOME/headroom/usage.db)'
            cand --allow-unrouted 'When the agent''s setup cannot be routed through headroom, launch it unrouted instead of stopping'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'headroom;wrap;gemini'= {
            cand --gemini-bin 'The gemini binary [default: gemini on PATH]'
            cand --port 'Port for the proxy on 127.0.0.1 [default: a free one]'
            cand --log-file 'Where headroom writes its own log [default: $XDG_STATE_HOME/headroom/wrap-AGENT.log]'
            cand --log-level 'Log level for the log file'
            cand --log-format 'Log line format for the log file'
            cand --compress 'How tool outputs in requests are compressed: off; safe (lossless clean-up, repeats as references, long command output cut with the whole kept in a spill file); aggressive (safe, plus stale outputs elided in rare batches). A request''s X-Headroom-Compress overrides it'
            cand --spill-dir 'Where cut and elided tool outputs are kept whole [default: $XDG_STATE_HOME/headroom/spill]'
            cand --spill-retention 'Spill files older than this are removed at start (e.g. 7d, 12h)'
            cand --connect-timeout 'Give up connecting to an upstream after this long (e.g. 10s, 500ms)'
            cand --idle-timeout 'End an exchange with an upstream that moves no bytes either way for this long'
            cand --dry-run 'Launch nothing: print what would be routed, and the exact environment and arguments the agent would get (secrets masked)'
            cand --json 'With --dry-run, print JSON'
            cand -q 'No summary at exit'
            cand --quiet 'No summary at exit'
            cand --no-ledger 'Record no usage in the ledger that headroom usage reads ($XDG_STATE_HOME/headroom/usage.db)'
            cand --allow-unrouted 'When the agent''s setup cannot be routed through headroom, launch it unrouted instead of stopping'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'headroom;wrap;help'= {
            cand opencode 'Run opencode with every provider routed through one in-process proxy'
            cand claude 'Run Claude Code with its requests routed through one in-process proxy'
            cand codex 'Run Codex with its requests routed through one in-process proxy'
            cand aider 'Run Aider with its requests routed through one in-process proxy'
            cand qwen 'Run Qwen Code with its requests routed through one in-process proxy'
            cand kilo 'Run Kilo with every provider routed through one in-process proxy'
            cand gemini 'Run Gemini CLI with its requests routed through one in-process proxy'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'headroom;wrap;help;opencode'= {
        }
        &'headroom;wrap;help;claude'= {
        }
        &'headroom;wrap;help;codex'= {
        }
        &'headroom;wrap;help;aider'= {
        }
        &'headroom;wrap;help;qwen'= {
        }
        &'headroom;wrap;help;kilo'= {
        }
        &'headroom;wrap;help;gemini'= {
        }
        &'headroom;wrap;help;help'= {
        }
        &'headroom;usage'= {
            cand --by 'Total per day, model, provider, agent or run instead of one total'
            cand --since 'Start of the window: 7d, 24h, today, or a local date YYYY-MM-DD [default: today]'
            cand --run 'Only the requests of this run (all time, unless --since)'
            cand --db 'The ledger to read [default: $XDG_STATE_HOME/headroom/usage.db]'
            cand --json 'Print a JSON array of rows instead of a table'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'headroom;completions'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'headroom;man'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'headroom;help'= {
            cand proxy 'Run the forwarding proxy in the foreground'
            cand wrap 'Run a coding agent through an in-process proxy'
            cand usage 'Show the tokens and cost of the requests headroom forwarded'
            cand completions 'Print a shell completion script to stdout'
            cand man 'Write the man pages into a directory'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'headroom;help;proxy'= {
        }
        &'headroom;help;wrap'= {
            cand opencode 'Run opencode with every provider routed through one in-process proxy'
            cand claude 'Run Claude Code with its requests routed through one in-process proxy'
            cand codex 'Run Codex with its requests routed through one in-process proxy'
            cand aider 'Run Aider with its requests routed through one in-process proxy'
            cand qwen 'Run Qwen Code with its requests routed through one in-process proxy'
            cand kilo 'Run Kilo with every provider routed through one in-process proxy'
            cand gemini 'Run Gemini CLI with its requests routed through one in-process proxy'
        }
        &'headroom;help;wrap;opencode'= {
        }
        &'headroom;help;wrap;claude'= {
        }
        &'headroom;help;wrap;codex'= {
        }
        &'headroom;help;wrap;aider'= {
        }
        &'headroom;help;wrap;qwen'= {
        }
        &'headroom;help;wrap;kilo'= {
        }
        &'headroom;help;wrap;gemini'= {
        }
        &'headroom;help;usage'= {
        }
        &'headroom;help;completions'= {
        }
        &'headroom;help;man'= {
        }
        &'headroom;help;help'= {
        }
    ]
    $completions[$command]
}
