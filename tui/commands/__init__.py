"""The CLI's commands, one module each: `register(sub)` adds a command's parser to the
`gauntlet` sub-commands and sets `handler`, a function of the parsed arguments that
returns the exit code. `common` holds what several of them share."""
