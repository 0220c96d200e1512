"""Command line: ``python -m laplace_fast demo`` (or ``laplace-fast demo``), and
``laplace-fast fit`` / ``laplace-fast glmm`` on a CSV or Parquet file (``_cli_fit``).

A user error (a figure path that cannot be written, a missing file, an unknown column, a
bad formula or family) is one line on stderr, ``laplace-fast: error: ...``, and exit
code 2, as argparse reports bad arguments."""

import argparse
import os
import sys

from . import __version__


def main(argv=None):
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit
    code (0, or 2 after a user error), or raises SystemExit for ``--help``,
    ``--version`` and arguments argparse rejects."""
    parser = argparse.ArgumentParser(
        prog="laplace-fast", description="laplace_fast: fast Laplace approximations")
    parser.add_argument("--version", action="version", version=f"laplace-fast {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="reproduce the seed article's Laplace examples")
    demo.add_argument("--plot", default="laplace_demo.png", metavar="PATH",
                      help="where to save the figure (default: %(default)s)")
    demo.add_argument("--no-plot", action="store_true", help="skip the figure")
    from . import _cli_fit
    _cli_fit.add_parsers(sub)
    args = parser.parse_args(argv)
    if args.command in ("fit", "glmm"):
        try:
            _cli_fit.run(args)
            sys.stdout.flush()
        except _cli_fit.UserError as exc:
            print(f"{parser.prog}: error: {exc}", file=sys.stderr)
            return 2
        except BrokenPipeError:
            # the reader stopped early (``| head``): the rest of the summary is not
            # wanted; what is still buffered goes to /dev/null at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
    if args.command == "demo":
        from ._demo import run_demo
        try:
            run_demo(plot_path=args.plot, make_plot=not args.no_plot)
        except OSError as exc:
            print(f"{parser.prog}: error: {exc}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
