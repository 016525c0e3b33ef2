"""``python -m bench.load``: run the load part alone and rewrite its section of docs/BENCHMARKS.md."""

from __future__ import annotations

import argparse

from bench.load import HEADING, NO_WRITE_HELP, plots_folder, publish_section, run


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--minutes", type=float, help="length of the mix (default BENCH_LOAD_MINUTES or 10)")
    parser.add_argument("--users", type=int, help="users of the mix (default BENCH_LOAD_USERS or 50)")
    parser.add_argument("--config", choices=["embedded", "postgres"], action="append",
                        help="system(s) to load (default both)")
    parser.add_argument("--no-write", action="store_true", help=NO_WRITE_HELP)
    options = parser.parse_args()
    text, _ = run(options.minutes, options.users, tuple(options.config or ("embedded", "postgres")),
                  plots=plots_folder(write=not options.no_write))
    publish_section(text, HEADING, "load", write=not options.no_write)


if __name__ == "__main__":
    main()
