"""One module per `cchooks` command, each with `add_arguments(parser)` and `run(args)`."""
