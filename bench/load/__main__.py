"""``python -m bench.load``: run the load part alone and rewrite its section of docs/BENCHMARKS.md."""

from __future__ import annotations

import argparse

from bench.load import DOCS, HEADING, plots_folder, replace_section, run


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--minutes", type=float, help="length of the mix (default BENCH_LOAD_MINUTES or 10)")
    parser.add_argument("--users", type=int, help="users of the mix (default BENCH_LOAD_USERS or 50)")
    parser.add_argument("--config", choices=["embedded", "postgres"], action="append",
                        help="system(s) to load (default both)")
    parser.add_argument("--no-write", action="store_true", help="print the section instead of writing it; the plots go to a temporary folder")
    options = parser.parse_args()
    text, _ = run(options.minutes, options.users, tuple(options.config or ("embedded", "postgres")),
                  plots=plots_folder(write=not options.no_write))
    if options.no_write:
        print(text)
        return
    target = DOCS / "BENCHMARKS.md"
    target.write_text(replace_section(target.read_text(), HEADING, text))
    print(f"Wrote the load section of {target}")


if __name__ == "__main__":
    main()
